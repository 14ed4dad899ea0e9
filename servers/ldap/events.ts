import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type EventOf,
  type BaseEvents,
  type AskReader,
  detailText,
} from '../../core/journal/events.js'

/** What every LDAP operation's event carries: its message ID, and whether it came to the global catalog. */
export interface LdapOperationDetail extends EventDetail {
  readonly id: number
  readonly gc?: boolean
  /** The result code as RFC 4511 names it. */
  readonly result?: string
  readonly user?: string
}

/** An operation a fault answered in place of the directory: no answer, a reset, random bytes or an error code. */
export interface LdapFaultedDetail extends LdapOperationDetail {
  readonly op: string
  readonly gc: boolean
}

/** A simple or SASL bind: the name in the form AD read it, and who it bound as. */
export interface LdapBindDetail extends LdapOperationDetail {
  readonly name: string
  readonly method: 'simple' | 'sasl'
  readonly result: string
  readonly gc: boolean
  readonly form?: string
  readonly version?: number
  /** The NTSTATUS of a refused logon (STATUS_LOGON_FAILURE …). */
  readonly logon?: string
  readonly mechanism?: string
  readonly credentialBytes?: number
}

/** A search: what was asked and the DNs found (a referral's URLs, whether it was paged). */
export interface LdapSearchDetail extends LdapOperationDetail {
  readonly base: string
  readonly scope: string
  readonly filter: string
  readonly attributes: readonly string[]
  readonly gc: boolean
  readonly result: string
  readonly entries: readonly string[]
  readonly references?: readonly string[]
  readonly paged?: boolean
}

/** A message or stream that did not decode: the session ends with a notice of disconnection. */
export interface LdapMalformedDetail extends EventDetail {
  readonly error: string
  readonly gc: boolean
  readonly bytes?: number
  readonly id?: number
}

/** The journal events of the AD LDAP double, each with the detail written with it. */
export interface LdapEvents extends BaseEvents<'ldap'> {
  readonly 'ldap:bind': LdapBindDetail | LdapFaultedDetail
  readonly 'ldap:search': LdapSearchDetail | LdapFaultedDetail
  readonly 'ldap:unbind': LdapOperationDetail
  readonly 'ldap:abandon': LdapOperationDetail & { readonly abandoned: number }
  readonly 'ldap:abandoned': LdapOperationDetail
  readonly 'ldap:extended': (LdapOperationDetail & { readonly oid: string }) | LdapFaultedDetail
  readonly 'ldap:write': (LdapOperationDetail & { readonly tag: number }) | LdapFaultedDetail
  readonly 'ldap:malformed': LdapMalformedDetail
}

export const classifyLdap: EventClassifier = (event) => {
  const e = event as EventOf<LdapEvents>
  const result = 'result' in e.detail ? e.detail.result : undefined
  return { stage: 'DC/LDAP', ok: !failedAlike(e) && (result === undefined || result === 'success') }
}

/** What a phone asks AD: a bind's method (and SASL mechanism), a search's filter. */
export const askLdap: AskReader = (e) => {
  const d = e.detail
  if (e.kind === 'ldap:bind')
    return `bind ${detailText(d.method)}${d.mechanism !== undefined ? ` ${detailText(d.mechanism)}` : ''}`
  return e.kind === 'ldap:search' ? `search ${detailText(d.filter)}` : undefined
}
