import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Clock } from '../clock.js'
import { LabError } from '../errors.js'
import { DeviceRegistry, type DeviceRef } from './devices.js'

export type Transport = 'udp' | 'tcp' | 'tls'

export interface Peer {
  readonly address: string
  readonly port: number
  readonly transport: Transport
}

/** One event shape for every protocol (house-style §4). */
export interface JournalEvent {
  readonly seq: number
  readonly time: string
  /** The server that saw it ('ntp', 'dns', …) or 'lab' / 'admin' / 'faults' for the control plane. */
  readonly server: string
  readonly device?: DeviceRef
  readonly peer?: Peer
  /** `namespace:verb`, e.g. `ntp:request`, `ntp:response`, `ntp:malformed`, `fault:applied`. */
  readonly kind: string
  readonly summary: string
  readonly detail: Readonly<Record<string, unknown>>
}

export interface JournalInput {
  readonly server: string
  readonly kind: string
  readonly summary: string
  readonly detail?: Record<string, unknown>
  readonly peer?: Peer
  /** What the server itself knows of the device (a DHCP chaddr, an LDAP bind name); merged with what the registry knows. */
  readonly device?: DeviceRef
  /** False when the peer is not the device itself (DHCP: 0.0.0.0 before a lease, or a relay agent). */
  readonly peerIsDevice?: boolean
}

export interface JournalFilter {
  /** A MAC, IP or user name; matches any of the three. */
  readonly device?: string
  readonly server?: string
  /** Exact kind, or a prefix ending in `:` / `*` (e.g. `ntp:` or `ntp:*`). */
  readonly kind?: string
  /** Only events with seq greater than this. */
  readonly afterSeq?: number
  /** ISO time or epoch ms: inclusive bounds. */
  readonly since?: string | number
  readonly until?: string | number
}

export interface JournalOptions {
  readonly clock: Clock
  /** The JSONL file every event is appended to before `record` returns; none for a memory-only journal. */
  readonly file?: string
  /** How many events are kept in memory (older ones remain in the file). */
  readonly capacity?: number
  readonly devices?: DeviceRegistry
}

type Listener = (event: JournalEvent) => void

function toMs(t: string | number): number {
  return typeof t === 'number' ? t : Date.parse(t)
}

function deviceMatches(device: DeviceRef | undefined, needle: string): boolean {
  if (!device) return false
  const n = needle.toLowerCase()
  return device.mac?.toLowerCase() === n || device.ip?.toLowerCase() === n || device.user?.toLowerCase() === n
}

export function matchesFilter(event: JournalEvent, filter: JournalFilter): boolean {
  if (filter.afterSeq !== undefined && event.seq <= filter.afterSeq) return false
  if (filter.server !== undefined && event.server !== filter.server) return false
  if (filter.kind !== undefined) {
    const k = filter.kind.endsWith('*') ? filter.kind.slice(0, -1) : filter.kind
    if (k.endsWith(':') ? !event.kind.startsWith(k) : event.kind !== k) return false
  }
  if (filter.device !== undefined && !deviceMatches(event.device, filter.device)) return false
  if (filter.since !== undefined || filter.until !== undefined) {
    const t = Date.parse(event.time)
    if (filter.since !== undefined && t < toMs(filter.since)) return false
    if (filter.until !== undefined && t > toMs(filter.until)) return false
  }
  return true
}

/**
 * The lab's single journal: every request and answer of every server, every applied fault, every lifecycle
 * change. Events are appended to `journal.jsonl` with a synchronous write before `record` returns, so an
 * event a client saw acknowledged survives a SIGKILL of the lab. Memory holds the newest `capacity` events.
 */
export class Journal {
  readonly devices: DeviceRegistry
  readonly #clock: Clock
  readonly #capacity: number
  readonly #events: JournalEvent[] = []
  readonly #listeners = new Set<Listener>()
  #fd: number | undefined
  #seq = 0
  /** Lines recorded with `recordThen` and not yet written, and the sends waiting for them. */
  #pendingLines: string[] = []
  #pendingActions: (() => void)[] = []
  #flushScheduled = false
  #lastMs = Number.NaN
  #lastTime = ''

  constructor(options: JournalOptions) {
    this.#clock = options.clock
    this.#capacity = options.capacity ?? 100_000
    this.devices = options.devices ?? new DeviceRegistry()
    if (options.file !== undefined) {
      try {
        mkdirSync(dirname(options.file), { recursive: true })
        this.#fd = openSync(options.file, 'a')
      } catch (cause) {
        throw new LabError(
          'LAB_ERR_JOURNAL_WRITE',
          `Failed to open the journal file ${options.file}: ${(cause as Error).message}. Pass --state DIR to a writable folder.`,
          { cause },
        )
      }
    }
  }

  get lastSeq(): number {
    return this.#seq
  }

  /** Records an event, written to the file before this returns. */
  record(input: JournalInput): JournalEvent {
    const event = this.#make(input)
    if (this.#fd !== undefined) {
      // Batched lines go first, in the same write, so the file keeps sequence order.
      const line = JSON.stringify(event) + '\n'
      writeSync(this.#fd, this.#pendingLines.length > 0 ? this.#pendingLines.join('') + line : line)
      this.#pendingLines = []
    }
    this.#publish(event)
    return event
  }

  /**
   * Records an event and runs `then` (the send of the answer it describes) once the event is in the file.
   * Events recorded this way in one turn of the event loop are written with one write (group commit), so a
   * busy server pays one system call per batch rather than per answer, and an answer a client saw is still
   * always in the file first.
   */
  recordThen(input: JournalInput, then: () => void): JournalEvent {
    const event = this.#make(input)
    if (this.#fd === undefined) {
      this.#publish(event)
      then()
      return event
    }
    this.#pendingLines.push(JSON.stringify(event) + '\n')
    this.#pendingActions.push(then)
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(() => this.flush())
    }
    this.#publish(event)
    return event
  }

  /** Writes what `recordThen` batched, then runs the sends that waited for it. */
  flush(): void {
    this.#flushScheduled = false
    const lines = this.#pendingLines
    const actions = this.#pendingActions
    if (lines.length === 0 && actions.length === 0) return
    this.#pendingLines = []
    this.#pendingActions = []
    if (this.#fd !== undefined && lines.length > 0) writeSync(this.#fd, lines.join(''))
    for (const a of actions) a()
  }

  #make(input: JournalInput): JournalEvent {
    // What a server learnt of the device (a lease, a bind) is tied to the address it came from.
    const peerIp = input.peerIsDevice === false ? undefined : input.peer?.address
    if (input.device) this.devices.learn({ ...(peerIp !== undefined ? { ip: peerIp } : {}), ...input.device })
    const device = this.devices.resolve(input.device, peerIp)
    const event: JournalEvent = {
      seq: ++this.#seq,
      time: this.#time(),
      server: input.server,
      ...(device ? { device } : {}),
      ...(input.peer ? { peer: input.peer } : {}),
      kind: input.kind,
      summary: input.summary,
      detail: input.detail ?? {},
    }
    return event
  }

  /** The ISO time of now; formatted once per millisecond (a busy server records many events in one). */
  #time(): string {
    const ms = this.#clock.now()
    if (ms !== this.#lastMs) {
      this.#lastMs = ms
      this.#lastTime = new Date(ms).toISOString()
    }
    return this.#lastTime
  }

  #publish(event: JournalEvent): void {
    this.#events.push(event)
    // Trimmed in batches: a splice of the oldest events on every record would move the whole array each time.
    if (this.#events.length > this.#capacity + Math.max(64, this.#capacity >>> 4))
      this.#events.splice(0, this.#events.length - this.#capacity)
    if (this.#listeners.size > 0) for (const l of [...this.#listeners]) l(event)
  }

  /** Events in memory that match (the newest `capacity` of them), oldest first; `limit` keeps the newest N. */
  query(filter: JournalFilter = {}, limit?: number): JournalEvent[] {
    const events =
      this.#events.length > this.#capacity
        ? this.#events.slice(this.#events.length - this.#capacity)
        : this.#events
    const out = events.filter((e) => matchesFilter(e, filter))
    return limit !== undefined && out.length > limit ? out.slice(out.length - limit) : out
  }

  /** Calls `listener` for every new event; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Resolves with the first event (already recorded after `filter.afterSeq`, or still to come) that matches;
   * rejects with LAB_ERR_JOURNAL_TIMEOUT. This replaces sleeps in tests and scripts.
   */
  waitFor(filter: JournalFilter, timeoutMs = 5_000): Promise<JournalEvent> {
    const existing = this.query(filter)[0]
    if (existing) return Promise.resolve(existing)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe()
        reject(
          new LabError(
            'LAB_ERR_JOURNAL_TIMEOUT',
            `Failed to see a journal event matching ${JSON.stringify(filter)} within ${timeoutMs} ms.`,
          ),
        )
      }, timeoutMs)
      const unsubscribe = this.subscribe((e) => {
        if (!matchesFilter(e, filter)) return
        clearTimeout(timer)
        unsubscribe()
        resolve(e)
      })
    })
  }

  /** Forgets the events held in memory (the file keeps them); sequence numbers go on. */
  clear(): void {
    this.#events.length = 0
  }

  close(): void {
    this.flush()
    if (this.#fd !== undefined) {
      closeSync(this.#fd)
      this.#fd = undefined
    }
  }
}
