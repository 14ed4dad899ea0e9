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
})
