import { runPhone, type PhoneOptions, type PhoneReport } from '../../phone/emulator.js'
import { PhoneNet } from '../../phone/net.js'
import { PhoneState } from '../../phone/state.js'
import type { TestLab } from './lab.js'

/** The default scenario's user on an emulated CX700 with `mac`, talking to a test lab through its port map. */
export function alicePhone(t: TestLab, mac: string, firmware = '1.0.522.101'): PhoneOptions {
  return {
    net: new PhoneNet(t.lab.endpoints()),
    mac,
    signIn: 'alice@contoso.test',
    account: 'CORP\\alice',
    password: 'Passw0rd!',
    state: new PhoneState(firmware),
  }
}

/**
 * The scenario's first user on an emulated CX700 with `mac`, reaching only the addresses the lab stands for,
 * on the lab's clock (the phone a story's `phone:` block would be, without its overrides).
 */
export function scenarioPhone(
  t: TestLab,
  mac: string,
  firmware = '3.5.6907.35',
  guesses: PhoneOptions['guesses'] = {},
): PhoneOptions {
  const u = t.lab.scenario.users[0]!
  return {
    net: new PhoneNet(t.lab.endpoints(), t.lab.siteAddresses()),
    mac,
    signIn: u.signInAddress,
    account: u.userName,
    password: u.password,
    state: new PhoneState(firmware),
    clock: t.lab.clock,
    guesses,
  }
}

/** The default scenario's user signs in on an emulated CX700 against a test lab, through its port map. */
export function signInAlice(t: TestLab, mac: string, firmware = '1.0.522.101'): Promise<PhoneReport> {
  return runPhone(alicePhone(t, mac, firmware))
}
