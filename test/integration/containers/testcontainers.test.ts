import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Cx700LabContainer } from '../../../lab/testcontainers/index.js'
import { containerSkip, ensureTestImage, PODMAN_CONF, TEST_IMAGE } from '../../helpers/image.js'
import { tool } from '../../helpers/tools.js'

const dig = tool('dig', 'bind9-dnsutils')
const ldapsearch = tool('ldapsearch', 'ldap-utils')

/** podman's Docker-compatible API answers on the socket (GET /_ping → 200). */
function pinged(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 1_000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

describe.skipIf(containerSkip ?? dig.skip ?? ldapsearch.skip)(
  'the testcontainers module against podman’s Docker API (issue 37)',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx700-podman-'))
    const socket = join(dir, 'podman.sock')
    let service: ChildProcess | undefined

    beforeAll(async () => {
      ensureTestImage()
      writeFileSync(join(dir, 'containers.conf'), PODMAN_CONF)
      service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
        stdio: 'ignore',
        env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') },
      })
      // The service is ready when its API answers: asked a bounded number of times, never slept on blindly.
      for (let i = 0; i < 100 && !(await pinged(socket)); i++) await new Promise((r) => setTimeout(r, 100))
      // testcontainers reads these at its first use: podman's socket, and no Ryuk (its image cannot be pulled).
      process.env.DOCKER_HOST = `unix://${socket}`
      process.env.TESTCONTAINERS_RYUK_DISABLED = 'true'
    }, 600_000)

    /** Named, so that a container whose start failed is removed too (no Ryuk here to reap it). */
    const name = `cx700-lab-testcontainers-${process.pid}`

    afterAll(() => {
      spawnSync('podman', ['rm', '--force', '--ignore', name])
      if (service?.pid !== undefined) process.kill(service.pid, 'SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    })

    it('starts the lab’s image through the module; real clients ask it; the typed client reads its journal', async () => {
      const started = await new Cx700LabContainer({ image: TEST_IMAGE }).withName(name).start()
      try {
        const client = started.getClient()
        const { endpoints } = await started.getEndpoints()
        expect(endpoints.find((e) => e.name === 'ldap')).toMatchObject({ port: 389 })
        const host = started.getHost()
        const srv = spawnSync(
          dig.path!,
          [
            '+tcp',
            '+short',
            '-p',
            String(started.getMappedPort(53)),
            `@${host}`,
            '_ldap._tcp.dc._msdcs.corp.contoso.test',
            'SRV',
          ],
          { encoding: 'utf8', timeout: 10_000 },
        )
        expect(srv.stdout.trim()).toBe('0 100 389 dc1.corp.contoso.test.')
        const dse = spawnSync(
          ldapsearch.path!,
          [
            '-x',
            '-LLL',
            '-H',
            `ldap://${host}:${started.getMappedPort(389)}`,
            '-s',
            'base',
            '-b',
            '',
            'defaultNamingContext',
          ],
          { encoding: 'utf8', timeout: 10_000 },
        )
        expect(dse.stdout).toContain('defaultNamingContext: DC=corp,DC=contoso,DC=test')
        const seen = await client.journal({ server: 'dns' })
        expect(seen.map((e) => e.summary)).toContainEqual(
          expect.stringContaining('_ldap._tcp.dc._msdcs.corp.contoso.test SRV (tcp)'),
        )
        expect((await client.journal({ server: 'ldap' })).length).toBeGreaterThan(0)
        // The token is the module's own, from the environment: the API refuses a request without it.
        expect((await fetch(`${started.getAdminUrl()}/journal`)).status).toBe(401)
      } finally {
        await started.stop()
      }
    }, 120_000)
  },
)
