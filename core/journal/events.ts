import type { JournalEvent } from './journal.js'

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
  readonly time: string
  readonly stage: BootStage
  readonly kind: string
  readonly summary: string
  /** False for a refusal, an error, no answer or a failed handshake. */
  readonly ok: boolean
  readonly detail: Readonly<Record<string, unknown>>
}

/**
 * A server's reading of its own events: the stage and outcome of an event, or undefined for an event that is
 * not part of a phone's boot (a record changed through the admin API, a start-up check).
 */
export type EventClassifier = (event: JournalEvent) => EventClass | undefined

/** What every server's event detail may carry: the kind of fault applied to it. */
export interface EventDetail {
  readonly fault?: string
}

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
