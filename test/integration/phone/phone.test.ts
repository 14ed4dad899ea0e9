import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../../lab/paths.js'
import { runPhone } from '../../../phone/emulator.js'
import { PhoneNet } from '../../../phone/net.js'
import { PhoneState } from '../../../phone/state.js'
import { startTestLab } from '../../helpers/lab.js'

describe('the emulated CX700 on loopback', () => {
  it('signs in on the default scenario: every step through the network', async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    const report = await runPhone({
      net: new PhoneNet(t.lab.endpoints()),
      mac: '00:04:f2:00:00:01',
      signIn: 'alice@contoso.test',
      account: 'CORP\\alice',
      password: 'Passw0rd!',
      state: new PhoneState('1.0.522.101'),
    })
    console.log(JSON.stringify(report, null, 1))
    expect(report.endState).toBe('signed-in')
  })

  it('follows its GUESS options: Autodiscover by the HTTP redirect only; option 119 read as RFC 3397 only', async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    const boot = (guesses: Parameters<typeof runPhone>[0]['guesses']) =>
      runPhone({
        net: new PhoneNet(t.lab.endpoints()),
        mac: '00:04:f2:00:00:07',
        signIn: 'alice@contoso.test',
        account: 'CORP\\alice',
        password: 'Passw0rd!',
        state: new PhoneState('3.5.6907.35'),
        ...(guesses ? { guesses } : {}),
      })
    const redirect = await boot({ autodiscover: ['http-redirect'] })
    expect(redirect.endState).toBe('signed-in')
    expect(redirect.steps.find((s) => s.step === 'autodiscover')?.detail).toMatch(
      /^https:\/\/autodiscover\.contoso\.test → 200/,
    )
    expect(
      t.lab.journal.query({ kind: 'http:request' }).some((e) => e.summary.includes('Autodiscover redirect')),
    ).toBe(true)
    // The lab sends 119 as the guide's ASCII string; a phone reading only RFC 3397 gets no search list,
    // and CORP is found neither as CORP nor as CORP.corp.contoso.test (spec F2).
    const strict = await boot({ option119: 'rfc3397' })
    expect(strict.endState).toBe('dc-not-found')
  })
})
