import {
  failedAlike,
  statusFailed,
  type EventClassifier,
  type EventDetail,
  type ServerEvent,
  type AskReader,
  detailList,
  detailText,
} from '../../core/journal/events.js'

/** The journal events of the OCS pool double. */
export type SipEventKind =
  | 'sip:client-hello'
  | 'sip:tls-established'
  | 'sip:tls-failed'
  | 'sip:tls-aborted'
  | 'sip:tcp-refused'
  | 'sip:request'
  | 'sip:malformed'
  | 'sip:failed'
  | 'sip:connection-refused'
  | 'sip:timeout'
  | 'sip:registration-expired'
  | 'sip:unregistered'

/** The detail of a `sip:request`: the status answered (absent when nothing was). */
export interface SipRequestDetail extends EventDetail {
  readonly method?: string
  readonly from?: string
  readonly event?: string
  /** What the client accepts, and the start of its body (the groups a provisioning SUBSCRIBE asks for). */
  readonly accept?: string
  readonly body?: string
  readonly status?: number
}

export const classifySip: EventClassifier = (event) => {
  const e = event as ServerEvent<SipEventKind, SipRequestDetail>
  const refused =
    e.kind === 'sip:tls-failed' ||
    e.kind === 'sip:tls-aborted' ||
    e.kind === 'sip:tcp-refused' ||
    e.kind === 'sip:registration-expired'
  return { stage: 'SIP', ok: !failedAlike(e) && !refused && !statusFailed(e.detail.status) }
}

/** What a phone asks the pool: its ClientHello (versions, how many suites), a request's method and event. */
export const askSip: AskReader = (e) => {
  const d = e.detail
  if (e.kind === 'sip:client-hello')
    return `ClientHello ${detailList(d.versions)} (${detailList(d.cipherSuites).split(',').length} suites)`
  return e.kind === 'sip:request'
    ? `${detailText(d.method)}${d.event !== undefined ? ` ${detailText(d.event)}` : ''}`
    : undefined
}
