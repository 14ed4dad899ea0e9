import {
  failedAlike,
  statusFailed,
  type EventClassifier,
  type EventDetail,
  type EventOf,
  type AskReader,
  detailList,
  detailText,
  type BaseEvents,
  type RenegotiationRefusedDetail,
} from '../../core/journal/events.js'

/** The detail of a `sip:request`: the status answered (absent when nothing was). */
export interface SipRequestDetail extends EventDetail {
  readonly method: string
  readonly uri: string
  readonly from: string
  readonly event?: string
  /** What the client accepts, and the start of its body (the groups a provisioning SUBSCRIBE asks for). */
  readonly accept?: string
  readonly body?: string
  readonly status?: number
}

/** A TLS ClientHello as the pool read it before the handshake (or why it was not one). */
export type SipClientHelloDetail =
  | {
      readonly versions: readonly string[]
      readonly serverName?: string
      readonly cipherSuites: readonly string[]
      readonly signatureAlgorithms: readonly string[]
      readonly sslv2: boolean
    }
  | { readonly error: string }

/** A registration that ended: whose, from where, since when, how often refreshed. */
export interface SipRegistrationDetail {
  readonly user: string
  readonly contact: string
  readonly since: string
  readonly refreshed: number
}

/** The journal events of the OCS pool double, each with the detail written with it. */
export interface SipEvents extends BaseEvents<'sip'> {
  readonly 'sip:client-hello': SipClientHelloDetail
  readonly 'sip:tls-established': { readonly protocol: string | null; readonly cipher: string }
  readonly 'sip:tls-failed': { readonly error: string }
  /** A client renegotiated more often than Node allows (tls.CLIENT_RENEG_LIMIT a window): closed. */
  readonly 'sip:tls-renegotiation-refused': RenegotiationRefusedDetail
  readonly 'sip:tls-aborted': { readonly fault: string }
  readonly 'sip:tcp-refused': Readonly<Record<string, never>>
  readonly 'sip:request': SipRequestDetail
  readonly 'sip:malformed': { readonly error: string }
  readonly 'sip:registration-expired': SipRegistrationDetail
  readonly 'sip:unregistered': SipRegistrationDetail
}

export const classifySip: EventClassifier = (event) => {
  const e = event as EventOf<SipEvents>
  const refused =
    e.kind === 'sip:tls-failed' ||
    e.kind === 'sip:tls-renegotiation-refused' ||
    e.kind === 'sip:tls-aborted' ||
    e.kind === 'sip:tcp-refused' ||
    e.kind === 'sip:registration-expired'
  const status = e.kind === 'sip:request' ? e.detail.status : undefined
  return { stage: 'SIP', ok: !failedAlike(e) && !refused && !statusFailed(status) }
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
