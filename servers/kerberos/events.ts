import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type ServerEvent,
} from '../../core/journal/events.js'

/** The journal events of the KDC double. */
export type KerberosEventKind =
  | 'kerberos:request'
  | 'kerberos:response'
  | 'kerberos:malformed'
  | 'kerberos:failed'
  | 'kerberos:connection-refused'
  | 'kerberos:timeout'

/** A KDC exchange: who asked for which service, the etypes offered and chosen, and the KRB-ERROR if any. */
export interface KerberosDetail extends EventDetail {
  readonly msg?: 'AS' | 'TGS'
  readonly principal?: string
  readonly service?: string
  readonly offered?: readonly string[]
  readonly chosen?: string
  readonly error?: string
}

/**
 * The KDC's lane of the boot. A KDC_ERR_PREAUTH_REQUIRED is how every AS exchange starts (the client learns
 * the salt), so it does not count as a failure.
 */
export const classifyKerberos: EventClassifier = (event) => {
  const e = event as ServerEvent<KerberosEventKind, KerberosDetail>
  const error = e.detail.error
  const ok = !failedAlike(e) && (error === undefined || error === 'KDC_ERR_PREAUTH_REQUIRED')
  return { stage: 'Kerberos', ok }
}
