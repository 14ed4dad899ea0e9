import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type EventOf,
  type BaseEvents,
  type AskReader,
  detailText,
} from '../../core/journal/events.js'
import type { DnsRecordInput, DnsRemove } from './schema.js'

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
  /** The answer's size in octets (random octets' size, for the `garbage` fault). */
  readonly bytes?: number
  /** The size sent when a fault changed the encoded answer's length. */
  readonly sentBytes?: number
  /** A response (QR set) sent to the server, ignored. */
  readonly ignored?: 'qr'
}

/** A message that did not decode: answered FORMERR with its id when it has a header, dropped otherwise. */
export interface DnsMalformedDetail extends EventDetail {
  readonly transport: 'udp' | 'tcp'
  readonly bytes: number
  readonly error: string
  readonly id?: number
  readonly rcode?: 'FORMERR'
}

/** The journal events of the DNS double, each with the detail written with it. */
export interface DnsEvents extends BaseEvents<'dns'> {
  readonly 'dns:query': DnsQueryDetail
  readonly 'dns:malformed': DnsMalformedDetail
  readonly 'dns:record-added': { readonly id: string; readonly record: DnsRecordInput }
  readonly 'dns:record-removed': { readonly id: string; readonly remove: DnsRemove }
  readonly 'dns:change-undone': { readonly id: string }
  readonly 'dns:changes-reset': { readonly count: number }
}

const FAILED_RCODES = new Set(['NXDOMAIN', 'SERVFAIL', 'REFUSED', 'FORMERR', 'NOTIMP'])

export const classifyDns: EventClassifier = (event) => {
  const e = event as EventOf<DnsEvents>
  if (e.kind !== 'dns:query' && e.kind !== 'dns:malformed') return undefined
  const rcode = e.detail.rcode
  return { stage: 'DNS', ok: !failedAlike(e) && !(rcode !== undefined && FAILED_RCODES.has(rcode)) }
}

/** What a phone asks DNS: the name (lower-cased) and type. */
export const askDns: AskReader = (e) =>
  e.kind === 'dns:query'
    ? `${detailText(e.detail.qname).toLowerCase()} ${detailText(e.detail.qtype)}`
    : undefined
