import type { Scenario } from '../lab/scenario/model.js'
import type { PhoneGuesses } from '../phone/emulator.js'
import { userPrincipalName, type User } from '../core/site.js'

/** Who sits at the scenario's phone and what they type: the phone block read against the scenario's users. */
export interface ScenarioPhone {
  readonly mac: string
  readonly firmware: string
  readonly signIn: string
  readonly account: string
  readonly password: string
  readonly guesses: Partial<PhoneGuesses>
  /** The user the phone stored when it was used before (undefined: factory-fresh). */
  readonly usedBy: User | undefined
}

const bySignIn = (users: readonly User[], address: string): User | undefined =>
  users.find((u) => u.signInAddress === address.toLowerCase())

/** The user name as the phone's user types it: AD's NetBIOS form, the UPN, or the block's exact text. */
function typedAccount(form: string, user: User | undefined, scenario: Scenario): string {
  if (!user) return form === 'netbios' || form === 'upn' ? 'nobody' : form
  if (form === 'netbios') return user.userName
  if (form === 'upn') return userPrincipalName(user.userName, scenario.site.adDomain)
  return form
}

/** The scenario's phone block made concrete (validation has checked that named users exist). */
export function scenarioPhone(scenario: Scenario): ScenarioPhone {
  const { phone, users, site } = scenario
  const user = phone.user !== undefined ? bySignIn(users, phone.user) : users[0]
  const usedBy =
    phone.usedBefore === true
      ? user
      : typeof phone.usedBefore === 'string'
        ? bySignIn(users, phone.usedBefore)
        : undefined
  return {
    mac: phone.mac.toLowerCase(),
    firmware: phone.firmware,
    signIn: phone.signIn ?? user?.signInAddress ?? `nobody@${site.sipDomain}`,
    account: typedAccount(phone.account, user, scenario),
    password: phone.password ?? user?.password ?? '',
    guesses: phone.guesses,
    usedBy,
  }
}
