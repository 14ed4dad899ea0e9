import type { User } from '../site.js'

/**
 * What a domain controller answers to a logon with a password (ADR 0014), one decision for every protocol
 * that checks one: the LDAP simple bind, IIS's NTLM and Basic, the pool's NTLM. Windows validates the
 * password first and only then the account's restrictions, so a wrong password hides every other reason
 * (LDAP data 52e "will prevent most other errors from being displayed"); a disabled account or an expired
 * password is said only to someone who knows the password.
 */
export interface LogonOutcome {
  readonly ok: boolean
  /** The NTSTATUS name (MS-ERREF §2.3.1), as a DC's security log and a network trace name it. */
  readonly status: LogonStatus
  /** The Win32 error AD's LDAP server puts after `data` in its diagnostic (hex, lower case). */
  readonly ldapData: string
}

export type LogonStatus =
  | 'STATUS_SUCCESS'
  | 'STATUS_NO_SUCH_USER'
  | 'STATUS_LOGON_FAILURE'
  | 'STATUS_ACCOUNT_DISABLED'
  | 'STATUS_PASSWORD_EXPIRED'

/** The NTSTATUS values (MS-ERREF §2.3.1) and the Win32 errors LDAP reports them as (MS-ERREF §2.2). */
const OUTCOMES: Readonly<Record<LogonStatus, LogonOutcome>> = {
  STATUS_SUCCESS: { ok: true, status: 'STATUS_SUCCESS', ldapData: '0' },
  STATUS_NO_SUCH_USER: { ok: false, status: 'STATUS_NO_SUCH_USER', ldapData: '525' },
  STATUS_LOGON_FAILURE: { ok: false, status: 'STATUS_LOGON_FAILURE', ldapData: '52e' },
  STATUS_ACCOUNT_DISABLED: { ok: false, status: 'STATUS_ACCOUNT_DISABLED', ldapData: '533' },
  STATUS_PASSWORD_EXPIRED: { ok: false, status: 'STATUS_PASSWORD_EXPIRED', ldapData: '532' },
}

/** The DC's answer to a logon as `user` (undefined: no such account) whose password did or did not match. */
export function logon(user: User | undefined, passwordMatches: boolean): LogonOutcome {
  if (!user) return OUTCOMES.STATUS_NO_SUCH_USER
  if (!passwordMatches) return OUTCOMES.STATUS_LOGON_FAILURE
  if (user.disabled) return OUTCOMES.STATUS_ACCOUNT_DISABLED
  if (user.passwordExpired) return OUTCOMES.STATUS_PASSWORD_EXPIRED
  return OUTCOMES.STATUS_SUCCESS
}

/** In a sentence for the journal: "wrong password (STATUS_LOGON_FAILURE)". */
export function describeLogon(o: LogonOutcome): string {
  const words: Readonly<Record<LogonStatus, string>> = {
    STATUS_SUCCESS: 'logged on',
    STATUS_NO_SUCH_USER: 'no such account',
    STATUS_LOGON_FAILURE: 'wrong password',
    STATUS_ACCOUNT_DISABLED: 'the account is disabled',
    STATUS_PASSWORD_EXPIRED: 'the password has expired',
  }
  return `${words[o.status]} (${o.status})`
}
