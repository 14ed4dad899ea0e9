import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type ServerEvent,
  type AskReader,
  detailText,
} from '../../core/journal/events.js'

/** The journal events of the AD LDAP double. */
export type LdapEventKind =
  | 'ldap:bind'
  | 'ldap:search'
  | 'ldap:unbind'
  | 'ldap:abandon'
  | 'ldap:abandoned'
  | 'ldap:extended'
  | 'ldap:write'
  | 'ldap:malformed'
  | 'ldap:failed'
  | 'ldap:connection-refused'
  | 'ldap:timeout'

/** The detail of an LDAP operation's event: its result code as RFC 4511 names it. */
export interface LdapOperationDetail extends EventDetail {
  readonly id?: number
  readonly result?: string
  readonly user?: string
  readonly gc?: boolean
}

export const classifyLdap: EventClassifier = (event) => {
  const e = event as ServerEvent<LdapEventKind, LdapOperationDetail>
  const result = e.detail.result
  return { stage: 'DC/LDAP', ok: !failedAlike(e) && (result === undefined || result === 'success') }
}

/** What a phone asks AD: a bind's method (and SASL mechanism), a search's filter. */
export const askLdap: AskReader = (e) => {
  const d = e.detail
  if (e.kind === 'ldap:bind')
    return `bind ${detailText(d.method)}${d.mechanism !== undefined ? ` ${detailText(d.mechanism)}` : ''}`
  return e.kind === 'ldap:search' ? `search ${detailText(d.filter)}` : undefined
}
