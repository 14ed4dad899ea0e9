import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { labHttp } from '../helpers/https.js'
import { startTestLab } from '../helpers/lab.js'

/*
 * Issue 16, finding 4: the Device Update Service followed symbolic links out of its folder — a
 * `LINK.xml → /etc/passwd` in the update-files folder was served, and a version directory linked elsewhere
 * served its files. Every file it serves now resolves inside the folder.
 */
const dir = mkdtempSync(join(tmpdir(), 'cx700-dus-links-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const files = join(dir, 'updates')
const outside = join(dir, 'outside')
mkdirSync(join(files, '1.0.522.101'), { recursive: true })
mkdirSync(outside)
writeFileSync(join(files, '1.0.522.101', 'CPE.xml'), '<ok/>')
writeFileSync(join(outside, 'CPE.xml'), '<secret/>')
writeFileSync(join(outside, 'CPE.nbt'), 'secret image')
symlinkSync('/etc/passwd', join(files, '1.0.522.101', 'LINK.xml'))
symlinkSync(join(outside, 'CPE.xml'), join(files, '1.0.522.101', 'OUT.xml'))
symlinkSync(outside, join(files, '3.5.6907.35'))

const SCENARIO = `version: 1
name: dus-links
site: { sipDomain: contoso.test }
users: [{ signInAddress: alice@contoso.test, password: Passw0rd! }]
servers:
  http:
    dus: { files: ${files} }
`
const url = (version: string, file: string): string =>
  `/DeviceUpdateFiles_Int/UCPhone/Polycom/CX700/A/ENU/${version}/CPE/${file}`

describe('the Device Update Service serves files inside its folder only', () => {
  it('serves a real file, and refuses links that lead out of the folder as if they were not there', async () => {
    await using t = await startTestLab(SCENARIO)
    const get = (version: string, file: string) =>
      labHttp(t, { host: 'ocspool.contoso.test', path: url(version, file) })
    const ok = await get('1.0.522.101', 'CPE.xml')
    expect(ok.status).toBe(200)
    expect(ok.body).toBe('<ok/>')
    for (const [version, file] of [
      ['1.0.522.101', 'LINK.xml'],
      ['1.0.522.101', 'OUT.xml'],
      ['3.5.6907.35', 'CPE.xml'],
      ['3.5.6907.35', 'CPE.nbt'],
    ] as const) {
      const refused = await get(version, file)
      expect(refused.status, `${version}/${file}`).toBe(404)
      expect(refused.body).not.toContain('root:')
      expect(refused.body).not.toContain('secret')
    }
    const journal = t.lab.journal.query({ kind: 'http:request' }).map((e) => e.summary)
    expect(journal.filter((s) => s.includes('leads out of the update folder'))).toHaveLength(4)
  })
})
