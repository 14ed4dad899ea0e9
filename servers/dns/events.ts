import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type ServerEvent,
  type AskReader,
  detailText,
} from '../../core/journal/events.js'

/** The journal events of the DNS double. */
export type DnsEventKind =
  | 'dns:query'
  | 'dns:malformed'
  | 'dns:failed'
  | 'dns:connection-refused'
  | 'dns:timeout'
  | 'dns:record-added'
  | 'dns:record-removed'
  | 'dns:change-undone'
  | 'dns:changes-reset'

/** The detail of a `dns:query` event (an answer, or none for a drop). */
export interface DnsQueryDetail extends EventDetail {
  readonly transport: 'udp' | 'tcp'
  readonly id?: number
  readonly qname?: string
  readonly qtype?: string
  /** The answer's RCODE; absent when nothing was sent. */
  readonly rcode?: string
  readonly answers?: readonly string[]
  readonly tc?: boolean
  readonly view?: number
}

const FAILED_RCODES = new Set(['NXDOMAIN', 'SERVFAIL', 'REFUSED', 'FORMERR', 'NOTIMP'])

export const classifyDns: EventClassifier = (event) => {
  const e = event as ServerEvent<DnsEventKind, DnsQueryDetail>
  if (e.kind !== 'dns:query' && e.kind !== 'dns:malformed') return undefined
  const rcode = e.detail.rcode
  return { stage: 'DNS', ok: !failedAlike(e) && !(rcode !== undefined && FAILED_RCODES.has(rcode)) }
}

/** What a phone asks DNS: the name (lower-cased) and type. */
export const askDns: AskReader = (e) =>
  e.kind === 'dns:query'
    ? `${detailText(e.detail.qname).toLowerCase()} ${detailText(e.detail.qtype)}`
    : undefined
