import type { DeviceRef } from './devices.js'
import type { Journal, JournalEvent, JournalInput, Peer } from './journal.js'

/**
 * The stages of a phone's boot and sign-in (spec §1, §9), in the order the dashboard draws them. Every server
 * places its own events in these stages through its classifier; nothing reads an event's summary to do so.
 */
export const BOOT_STAGES = [
  'DHCP',
  'DNS',
  'NTP',
  'DC/LDAP',
  'Kerberos',
  'certsrv',
  'SIP',
  'DUS',
  'Autodiscover',
  'EWS',
] as const
export type BootStage = (typeof BOOT_STAGES)[number]

/** What a server says of one of its journal events. */
export interface EventClass {
  /** The stage of the phone's boot the event belongs to. */
  readonly stage: BootStage
  /** False for a refusal, an error, no answer, a failed handshake or an applied fault. */
  readonly ok: boolean
}

/** An event placed in its stage of the boot, as timelines and the screen inference read it. */
export interface StagedEvent {
  readonly seq: number
  /** The server that journaled it. */
  readonly server: string
  readonly time: string
  readonly stage: BootStage
  readonly kind: string
  readonly summary: string
  /** False for a refusal, an error, no answer or a failed handshake. */
  readonly ok: boolean
  readonly detail: Readonly<Record<string, unknown>>
}

/**
 * What the phone asked in one of a server's events, normalised so that two boots compare (no transaction
 * IDs, ports or nonces); undefined for an answer or the server's own bookkeeping. Golden timelines keep it.
 */
export type AskReader = (event: StagedEvent) => string | undefined

/** Detail fields as text, for the readers (a number as its digits; anything else empty). */
export const detailText = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : ''

/** A detail field that is a list, as `a,b,c`. */
export const detailList = (v: unknown): string => (Array.isArray(v) ? v.map(detailText).join(',') : '')

/**
 * A server's reading of its own events: the stage and outcome of an event, or undefined for an event that is
 * not part of a phone's boot (a record changed through the admin API, a start-up check).
 */
export type EventClassifier = (event: JournalEvent) => EventClass | undefined

/** What every server's event detail may carry: the kind of fault applied to it. */
export interface EventDetail {
  readonly fault?: string
}

/**
 * A server's journal events: each kind it writes with the detail written with it, declared once in the
 * server's `events.ts` (`interface NtpEvents { 'ntp:response': NtpAnswerDetail; … }`). Its writes
 * (`ServerBase.record`) and its classifier are both checked against it, so a misspelt kind or detail field
 * does not compile.
 */
export type EventMap<E> = { readonly [K in keyof E]: object }

/** A message that did not decode (`<server>:malformed`): its size, why, and its octets in hex. */
export interface MalformedDetail extends EventDetail {
  readonly bytes: number
  readonly error: string
  readonly hex: string
}

/** Random octets sent in place of an answer (the `garbage` fault). */
export interface GarbageDetail extends EventDetail {
  readonly bytes: number
  readonly hex: string
  readonly fault: 'garbage'
}

/** A bug of ours while handling a request (`<server>:failed`, from the server base); the lab kept serving. */
export interface FailedDetail extends EventDetail {
  readonly error?: string
}

/** A connection or datagram the server base refused for a limit or for where it came from. */
export interface RefusedDetail extends EventDetail {
  readonly why: string
  /** Refusals from the same peer before this one that were counted, not journaled. */
  readonly earlier: number
}

/** A TLS connection closed because its client renegotiated more than `limit` times in `windowS` seconds. */
export interface RenegotiationRefusedDetail extends EventDetail {
  readonly limit: number
  readonly windowS: number
}

/** A connection the server base closed because a message began and did not end in time. */
export interface TimeoutDetail extends EventDetail {
  readonly timeoutMs: number
}

/**
 * The events the server base (`core/server-base.ts`) writes for a server named S; each server's map extends
 * them (`interface LdapEvents extends BaseEvents<'ldap'>`), so what the base writes is what its readers read.
 */
export type BaseEvents<S extends string> = { readonly [K in `${S}:failed`]: FailedDetail } & {
  readonly [K in `${S}:timeout`]: TimeoutDetail
} & { readonly [K in `${S}:refused` | `${S}:connection-refused`]: RefusedDetail }

/** One write of a server's event: the kind's own detail, and what the journal takes beside it. */
export interface EventWrite<D> {
  readonly summary: string
  readonly detail: D
  readonly peer?: Peer
  /** What the server itself knows of the device (a DHCP chaddr, an LDAP bind name). */
  readonly device?: DeviceRef
  /** False when the peer is not the device itself (DHCP: 0.0.0.0 before a lease, or a relay agent). */
  readonly peerIsDevice?: boolean
  /** `detail` already serialized, as the journal would write it (a cached DNS answer keeps it so). */
  readonly detailJson?: string
}

/**
 * A writer of one server's events, checked as `ServerBase.record` is: for what journals beside the server
 * (its per-lab runtime: an address-book pass, mailboxes rebuilt) and for the server base itself.
 */
export function eventWriter<E extends EventMap<E>>(
  journal: Pick<Journal, 'record'>,
  server: string,
): <K extends keyof E & string>(kind: K, event: EventWrite<E[K]>) => JournalEvent {
  return (kind, event) => journal.record(eventInput(server, kind, event))
}

/** A writer of one map's events, as `eventWriter` makes it. */
export type EventWriterOf<E extends EventMap<E>> = ReturnType<typeof eventWriter<E>>

/** What the journal takes for one typed write. */
export function eventInput(server: string, kind: string, event: EventWrite<object>): JournalInput {
  // The map's detail types are interfaces: the journal keeps them as the records they are.
  return { server, kind, ...event, detail: event.detail as Record<string, unknown> }
}

/** A server's events as its classifier receives them: one of its kinds, with that kind's detail. */
export type EventOf<E> = { [K in keyof E & string]: ServerEvent<K, E[K]> }[keyof E & string]

/** A server's event as its classifier receives it: its own kinds, with the detail it writes. */
export interface ServerEvent<K extends string, D> extends JournalEvent {
  readonly kind: K
  readonly detail: Readonly<D>
}

/**
 * What goes wrong alike on every server: a fault was applied to the event, the input was malformed, the
 * server failed on it (`<server>:failed`, from the shared server base), or a connection was refused for a limit.
 */
export function failedAlike(e: JournalEvent): boolean {
  return (
    e.detail.fault !== undefined ||
    e.kind.endsWith(':failed') ||
    e.kind.endsWith(':malformed') ||
    e.kind.endsWith(':connection-refused') ||
    e.kind.endsWith(':timeout')
  )
}

/** An HTTP or SIP status as a phone meets it: a 401 is a step of authentication, 0 is no answer at all. */
export function statusFailed(status: unknown): boolean {
  return typeof status === 'number' && status !== 401 && (status === 0 || status >= 400)
}
