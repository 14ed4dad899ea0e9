import {
  failedAlike,
  statusFailed,
  type BootStage,
  type EventClassifier,
  type EventDetail,
  type EventOf,
  type AskReader,
  detailText,
  type BaseEvents,
  type RenegotiationRefusedDetail,
} from '../../core/journal/events.js'

/** The IIS site a request goes to, by path (routing.ts). */
export type Area = 'certsrv' | 'autodiscover' | 'ews' | 'dus' | 'abs'

/** The detail of an `http:request`: what was asked, of which site, by whom, and the status answered (0: none). */
export interface HttpRequestDetail extends EventDetail {
  readonly method: string
  /** The request target as sent (path and query). */
  readonly url: string
  readonly host: string
  readonly status: number
  /** Which IIS site it went to. */
  readonly area?: Area
  readonly operation?: string
  readonly folder?: string
  readonly items?: number
  /** An EWS response code or an Autodiscover error. */
  readonly code?: string
  /** The address an Autodiscover request asked about. */
  readonly address?: string
  /** The firmware a phone said it runs, to the Device Update Service (its current version). */
  readonly firmware?: string
  readonly user?: string
  readonly scheme?: string
  /** Why authentication went as it did. */
  readonly auth?: string
}

/** The journal events of the HTTP doubles (certsrv, Autodiscover, EWS, DUS, ABS), each with its detail. */
export interface HttpEvents extends BaseEvents<'http'> {
  readonly 'http:request': HttpRequestDetail
  readonly 'http:tls-failed': { readonly error: string }
  /** A client renegotiated more often than Node allows (tls.CLIENT_RENEG_LIMIT a window): closed. */
  readonly 'http:tls-renegotiation-refused': RenegotiationRefusedDetail
  /** A handler of ours failed: answered 500, journaled, the lab kept serving. */
  readonly 'http:failed': { readonly method: string; readonly url: string; readonly error: string }
  readonly 'http:mailboxes-reset': { readonly count: number }
  readonly 'http:abs-generated': { readonly file: string; readonly entries: number; readonly why: string }
}

/** The boot stage of each site a phone uses while it boots (the address book is fetched later). */
const STAGE: Readonly<Partial<Record<Area, BootStage>>> = {
  certsrv: 'certsrv',
  dus: 'DUS',
  autodiscover: 'Autodiscover',
  ews: 'EWS',
}

export const classifyHttp: EventClassifier = (event) => {
  const e = event as EventOf<HttpEvents>
  if (e.kind !== 'http:request') return undefined
  const stage = e.detail.area === undefined ? undefined : STAGE[e.detail.area]
  return stage === undefined ? undefined : { stage, ok: !failedAlike(e) && !statusFailed(e.detail.status) }
}

/** What a phone asks IIS: the method and the path (no query). */
export const askHttp: AskReader = (e) =>
  e.kind === 'http:request'
    ? `${detailText(e.detail.method)} ${detailText(e.detail.url).split('?')[0]!}`
    : undefined
