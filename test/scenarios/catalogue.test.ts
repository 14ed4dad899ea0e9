import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { loadScenario } from '../../lab/scenario/load.js'
import { parseDuration } from '../../lab/scenario/common.js'
import { unixMsFromNtpTimestamp } from '../../servers/ntp/codec.js'
import { startTestLab } from '../helpers/lab.js'
import { clientRequest, ntpClient } from '../helpers/ntp-client.js'

const dir = join(packageRoot(), 'scenarios')
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))

/**
 * Every scenario in the catalogue loads, is listed in scenarios/README.md, and the lab serves what it says.
 * (The CX700 emulator will run each one end to end once it exists; until then each server's part is
 * checked here with a real client on loopback.)
 */
describe('scenario catalogue', () => {
  const readme = readFileSync(join(dir, 'README.md'), 'utf8')

  it('has scenarios', () => {
    expect(files).toContain('default.yaml')
  })

  for (const file of files) {
    describe(file, () => {
      it('loads, and is listed in scenarios/README.md', () => {
        const s = loadScenario(join(dir, file))
        expect(s.name).toBe(file.replace(/\.yaml$/, ''))
        expect(readme).toContain(`\`${file}\``)
      })

      it('is served by the lab as written: NTP', async () => {
        await using t = await startTestLab(undefined, { file: join(dir, file) })
        const ntp = t.lab.scenario.servers.ntp
        await using c = await ntpClient(t.port('ntp'))
        if (ntp.silent) {
          // The request is heard and journaled, and not answered: the next event is the next request.
          c.send(clientRequest())
          await t.lab.journal.waitFor({ kind: 'ntp:ignored' })
          expect(t.lab.journal.query({ kind: 'ntp:response' })).toEqual([])
          return
        }
        const now = Date.now()
        const p = await c.ask()
        const offset = parseDuration(ntp.offset)
        expect(
          Math.abs(unixMsFromNtpTimestamp(p.transmitTimestamp, now + offset) - now - offset),
        ).toBeLessThan(2_000)
      })
    })
  }
})
