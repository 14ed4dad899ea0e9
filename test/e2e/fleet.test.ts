import { writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ScenarioError } from '../../core/errors.js'
import { fleetTable } from '../../cli/fleet.js'
import { loadFleet } from '../../lab/fleet/file.js'
import { startFleetView } from '../../lab/fleet/server.js'
import { readFleet } from '../../lab/fleet/status.js'
import { packageRoot } from '../../lab/paths.js'
import { runPhone } from '../../phone/emulator.js'
import { browserTool, sharedBrowser } from '../helpers/browser.js'
import { startTestLab } from '../helpers/lab.js'
import { scenarioPhone } from '../helpers/phone.js'

const OUT = join(packageRoot(), 'test-output', 'fleet')
const DEFAULT = join(packageRoot(), 'scenarios', 'default.yaml')

/** The status of a GET with headers fetch would not send as given (Host). */
function statusOf(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    }).on('error', reject)
  })
}

/** A loopback port nothing listens on: a lab that is down. */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as { port: number }
  await new Promise((r) => s.close(r))
  return port
}

describe('the fleet view: several labs read through their admin APIs (issue 37)', () => {
  const browser = browserTool.skip === undefined ? sharedBrowser(OUT) : undefined

  it('lists each lab’s scenario, phones signed in, faults and health; a lab that is down is said so', async () => {
    await using a = await startTestLab(`extends: ${JSON.stringify(DEFAULT)}\nname: vlan-10-lab\n`)
    // Lab B listens off loopback, so its admin API asks for its token; the fleet file names where it is.
    await using b = await startTestLab(`extends: ${JSON.stringify(DEFAULT)}\nname: vlan-20-lab\n`, {
      adminHost: '0.0.0.0',
    })
    expect(b.admin.token).toBeDefined()
    writeFileSync(join(a.dir, 'b.token'), `${b.admin.token}\n`)
    await b.client.addFault({ id: 'ldap-down', match: { server: 'ldap' }, fault: { kind: 'reset' } })
    expect((await runPhone(scenarioPhone(a, '00:04:f2:00:10:01'))).endState).toBe('signed-in')
    expect((await runPhone(scenarioPhone(b, '00:04:f2:00:20:01'))).endState).not.toBe('signed-in')
    const down = await closedPort()
    const file = a.write(
      'fleet.yaml',
      `title: QA floor 2\nlabs:\n  - { name: vlan-10, site: firmware 3.5 line, admin: '${a.client.baseUrl}' }\n` +
        `  - { name: vlan-20, admin: '${b.client.baseUrl}', token: { file: b.token } }\n` +
        `  - { name: vlan-30, admin: 'http://127.0.0.1:${down}' }\n`,
    )
    const rows = await readFleet(loadFleet(file), 2_000)
    expect(rows.map((r) => [r.name, r.scenario, r.reachable, r.healthy])).toEqual([
      ['vlan-10', 'vlan-10-lab', true, true],
      ['vlan-20', 'vlan-20-lab', true, true],
      ['vlan-30', undefined, false, undefined],
    ])
    expect(rows[0]!.phones).toEqual([
      expect.objectContaining({ key: 'mac:00:04:f2:00:10:01', signedIn: true }),
    ])
    expect(rows[1]!.phones).toEqual([
      expect.objectContaining({ key: 'mac:00:04:f2:00:20:01', signedIn: false }),
    ])
    expect(rows[1]!.faults).toEqual(['ldap-down: reset on ldap'])
    expect(rows[2]!.error).toMatch(/Failed to reach the lab at http:\/\/127\.0\.0\.1:\d+/)
    const text = fleetTable(rows)
    expect(text).toMatch(/^vlan-10\s+firmware 3\.5 line\s+vlan-10-lab\s+1\/1 signed in\s+0\s+healthy$/m)
    expect(text).toMatch(/^vlan-20\s+-\s+vlan-20-lab\s+0\/1 signed in\s+1\s+healthy$/m)
    expect(text).toMatch(/^vlan-30\s+-\s+-\s+-\s+-\s+unreachable: Failed to reach/m)
    // Without its token lab B refuses, and the view says so instead of showing nothing.
    const without = a.write('no-token.yaml', `labs:\n  - { name: vlan-20, admin: '${b.client.baseUrl}' }\n`)
    expect((await readFleet(loadFleet(without)))[0]!.error).toMatch(/bearer token is required/)
  }, 60_000)

  it('a fleet file’s problems name its line and field; a token is never written in it', () => {
    const at = (yaml: string): string[] => {
      try {
        loadFleet('/tmp/cx700-fleet-test.yaml', yaml)
      } catch (err) {
        if (err instanceof ScenarioError) return err.problems.map((p) => `${p.line} ${p.path} ${p.message}`)
        throw err
      }
      return []
    }
    expect(at('labs:\n  - name: a\n    admin: ftp://x\n')[0]).toMatch(/^3 \/labs\/0\/admin /)
    expect(at('labs:\n  - { name: a, admin: "http://x", token: s3cret }\n')[0]).toMatch(/^2 \/labs\/0\/token/)
    expect(at('labs:\n  - { name: a, admin: "http://x" }\n  - { name: a, admin: "http://y" }\n')).toEqual([
      '3 /labs/1/name a is named twice',
    ])
    delete process.env.CX700_FLEET_NO_SUCH_TOKEN
    expect(
      at('labs:\n  - name: a\n    admin: http://x\n    token: { env: CX700_FLEET_NO_SUCH_TOKEN }\n'),
    ).toEqual(['4 /labs/0/token the environment has no CX700_FLEET_NO_SUCH_TOKEN'])
  })

  it.skipIf(browserTool.skip)(
    'the page shows both labs in Chromium, linked to their dashboards; it asks for its own token and never holds a lab’s',
    async () => {
      await using a = await startTestLab(`extends: ${JSON.stringify(DEFAULT)}\nname: lab-a\n`)
      await using b = await startTestLab(`extends: ${JSON.stringify(DEFAULT)}\nname: lab-b\n`, {
        adminHost: '0.0.0.0',
      })
      process.env.CX700_FLEET_TEST_TOKEN = b.admin.token
      const file = a.write(
        'fleet.yaml',
        `labs:\n  - { name: a, admin: '${a.client.baseUrl}' }\n` +
          `  - { name: b, admin: '${b.client.baseUrl}', token: { env: CX700_FLEET_TEST_TOKEN } }\n`,
      )
      expect((await runPhone(scenarioPhone(a, '00:04:f2:00:0a:01'))).endState).toBe('signed-in')
      await using view = await startFleetView(loadFleet(file), {
        host: '127.0.0.1',
        port: 0,
        token: 'view-token',
      })
      delete process.env.CX700_FLEET_TEST_TOKEN
      expect((await fetch(`${view.url}/fleet`)).status).toBe(401)
      // A page of another name (DNS rebinding to 127.0.0.1) and another origin read nothing.
      expect(
        await statusOf(`${view.url}/fleet`, { authorization: 'Bearer view-token', host: 'evil.example' }),
      ).toBe(403)
      expect(
        await statusOf(`${view.url}/fleet`, {
          authorization: 'Bearer view-token',
          origin: 'http://evil.example',
        }),
      ).toBe(403)
      const json = await (
        await fetch(`${view.url}/fleet`, { headers: { authorization: 'Bearer view-token' } })
      ).text()
      expect(json).not.toContain(b.admin.token!)
      const page = await browser!().newPage()
      try {
        await page.goto(`${view.url}/#token=view-token`)
        await expect.poll(() => page.locator('#labs tr').count()).toBe(2)
        await expect
          .poll(() => page.locator('tr[data-lab="a"] .phones').textContent())
          .toMatch(/^1 of 1 signed in/)
        expect(await page.locator('tr[data-lab="b"] td').last().textContent()).toBe('healthy')
        expect(await page.locator('tr[data-lab="b"] a').getAttribute('href')).toBe(`${b.client.baseUrl}/`)
        expect(await page.content()).not.toContain(b.admin.token!)
        await page.screenshot({ path: join(OUT, 'fleet.png'), fullPage: true })
      } finally {
        await page.close()
      }
    },
    60_000,
  )
})
