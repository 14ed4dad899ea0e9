import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { manualClock } from '../../core/clock.js'
import { absDay, decodeDabs, fullFileName } from '../../servers/http/abs.js'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { curl, curlTo } from '../helpers/curl.js'
import { isoAfter, todayAt } from '../helpers/time.js'

const dir = mkdtempSync(join(tmpdir(), 'cx700-abs-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCENARIO = (extra = ''): string => `version: 1
name: abs
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - { signInAddress: alice@contoso.test, password: Passw0rd!, displayName: Alice Anders }
  - { signInAddress: bob@contoso.test, password: Passw0rd!, displayName: Bob Baker }
${extra}`

/** curl to the pool's ABS URL as a client names it, with NTLM as the user (or none). */
const getFile = (t: TestLab, file: string, user?: string) =>
  curlTo(t, dir, `https://ocspool.contoso.test:${t.port('http', 'https')}/abs/int/handler/${file}`, [
    ...(user ? ['--ntlm', '-u', user] : []),
  ])

describe.skipIf(curl.skip)('the Address Book Server with curl', () => {
  it('serves the day’s device file behind NTLM; a new user is in it only after the next daily pass (F27)', async () => {
    const start = todayAt('08:00')
    const clock = manualClock(start)
    await using t = await startTestLab(SCENARIO(), { clock })
    const today = fullFileName(absDay(clock.now()))
    expect((await getFile(t, today)).status).toBe(401)
    const got = await getFile(t, today, 'CORP\\alice:Passw0rd!')
    expect(got.status).toBe(200)
    expect(decodeDabs(got.body).entries.map((e) => e.sipAddress)).toEqual([
      'alice@contoso.test',
      'bob@contoso.test',
    ])
    expect((await getFile(t, 'F-00000.dabs', 'CORP\\alice:Passw0rd!')).status).toBe(404)

    await t.client.loadScenario(
      SCENARIO().replace(
        'users:\n',
        'users:\n  - { signInAddress: carol@contoso.test, password: Passw0rd!, displayName: Carol Cole }\n',
      ),
    )
    expect(decodeDabs((await getFile(t, today, 'CORP\\alice:Passw0rd!')).body).entries).toHaveLength(2)
    clock.advance(17 * 3_600_000) // to 01:00 the next day: the pass has not run
    const tomorrow = fullFileName(absDay(clock.now()))
    expect((await getFile(t, tomorrow, 'CORP\\alice:Passw0rd!')).status).toBe(404)
    clock.advance(30 * 60_000) // 01:30: ABServer's daily pass
    const next = await getFile(t, tomorrow, 'CORP\\alice:Passw0rd!')
    expect(next.status).toBe(200)
    expect(decodeDabs(next.body).entries.map((e) => e.sipAddress)).toContain('carol@contoso.test')
    const passes = t.lab.journal.query({ kind: 'http:abs-generated' })
    expect(passes.map((e) => e.detail.why)).toEqual(['first start', 'daily pass at 01:30'])
    expect(passes.at(-1)?.time).toBe(isoAfter(start, 17.5 * 3_600_000)) // 01:30 the next day

    // Faults reach it like every HTTP route: the next download answers 503, and the journal says so.
    await t.client.addFault({
      match: { server: 'http', fields: { path: `/abs/int/handler/${tomorrow}` } },
      fault: { kind: 'error', code: '503' },
      times: 1,
    })
    expect((await getFile(t, tomorrow, 'CORP\\alice:Passw0rd!')).status).toBe(503)
    expect((await getFile(t, tomorrow, 'CORP\\alice:Passw0rd!')).status).toBe(200)
    expect(t.lab.journal.query({ kind: 'fault:applied' })).toHaveLength(1)
  })
})
