import { describe, expect, it } from 'vitest'
import type { User } from '../site.js'
import { describeLogon, logon } from './logon.js'

const user = (over: Partial<User> = {}): User => ({
  signInAddress: 'alice@contoso.test',
  password: 'pw',
  userName: 'CORP\\alice',
  email: 'alice@contoso.test',
  displayName: 'Alice',
  umEnabled: true,
  enterpriseVoice: true,
  disabled: false,
  passwordExpired: false,
  ocsEnabled: true,
  mailbox: { contacts: [], calendar: [], voicemail: [], missedCalls: [] },
  ...over,
})

describe('a logon as a DC decides it', () => {
  it('checks the password before the account: a wrong password hides a disabled account', () => {
    expect(logon(user({ disabled: true }), false).status).toBe('STATUS_LOGON_FAILURE')
    expect(logon(user({ disabled: true }), true)).toMatchObject({
      ok: false,
      status: 'STATUS_ACCOUNT_DISABLED',
      ldapData: '533',
    })
    expect(logon(user({ passwordExpired: true }), true)).toMatchObject({ ok: false, ldapData: '532' })
    expect(logon(undefined, false)).toMatchObject({ ok: false, ldapData: '525' })
    expect(logon(user(), true)).toMatchObject({ ok: true, status: 'STATUS_SUCCESS' })
    // OCS enablement is not AD's business: the logon succeeds.
    expect(logon(user({ ocsEnabled: false }), true).ok).toBe(true)
  })

  it('says it in words for the journal, with the NTSTATUS name', () => {
    expect(describeLogon(logon(user({ disabled: true }), true))).toBe(
      'the account is disabled (STATUS_ACCOUNT_DISABLED)',
    )
  })
})
