import {
  failedAlike,
  statusFailed,
  type BootStage,
  type EventClassifier,
  type EventDetail,
  type ServerEvent,
} from '../../core/journal/events.js'

/** The journal events of the HTTP doubles (certsrv, Autodiscover, EWS, the Device Update Service). */
export type HttpEventKind = 'http:request' | 'http:tls-failed' | 'http:mailboxes-reset' | 'http:failed'

/** Which IIS site a request went to. */
export type HttpArea = 'certsrv' | 'dus' | 'autodiscover' | 'ews'

/** The detail of an `http:request`: the site, and the status answered (0: no answer). */
export interface HttpRequestDetail extends EventDetail {
  readonly method?: string
  readonly path?: string
  readonly area?: HttpArea
  readonly status?: number
  readonly operation?: string
  readonly user?: string
}

const STAGE: Readonly<Record<HttpArea, BootStage>> = {
  certsrv: 'certsrv',
  dus: 'DUS',
  autodiscover: 'Autodiscover',
  ews: 'EWS',
}

export const classifyHttp: EventClassifier = (event) => {
  const e = event as ServerEvent<HttpEventKind, HttpRequestDetail>
  const area = e.detail.area
  if (area === undefined || !(area in STAGE)) return undefined
  return { stage: STAGE[area], ok: !failedAlike(e) && !statusFailed(e.detail.status) }
}
