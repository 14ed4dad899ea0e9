import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  renameSync,
  writeSync,
} from 'node:fs'
import { createInterface } from 'node:readline'
import { dirname } from 'node:path'
import { LabClock, type Clock } from '../clock.js'
import { LabError } from '../errors.js'
import { DeviceRegistry, type DeviceRef } from './devices.js'
import { LineStore } from './lines.js'

/** How often a journal whose file cannot be written tries it again. */
const WRITE_RETRY_MS = 1_000
const NEWLINE = Buffer.from('\n')

/** Whether a journal's file is being written, and when it is not, how many lines it is missing and why. */
export interface JournalFileStatus {
  readonly writing: boolean
  readonly missing: number
  readonly error?: string
}

export type Transport = 'udp' | 'tcp' | 'tls'

export interface Peer {
  readonly address: string
  readonly port: number
  readonly transport: Transport
}

/** One event shape for every protocol (house-style §4). */
export interface JournalEvent {
  readonly seq: number
  /** Lab time (ISO 8601): what the lab's clock said — wall time unless the clock was sped up or advanced. */
  readonly time: string
  /** Wall time, present once the lab clock has departed from it (a fast or advanced clock). */
  readonly wall?: string
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
  /**
   * `detail` already as JSON, exactly as `JSON.stringify(detail)` writes it: a server that gives the same
   * answer many times keeps its description serialized (the DNS server's cached answers).
   */
  readonly detailJson?: string
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
  /**
   * How many octets of events (as JSON) are kept in memory at most; default 8 MiB (about 15,000 events, held
   * outside the V8 heap): a soak of 200 phones for a lab week stays within 1.5× of its RSS after sign-in.
   */
  readonly capacityBytes?: number
  /**
   * How large the file grows before it is rotated (journal.jsonl → journal.1.jsonl, one older generation
   * kept, so the disk holds at most twice this); default 256 MiB, 0: never rotated.
   */
  readonly fileMaxBytes?: number
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
/** The longest summary and the longest string in an event's detail that are kept whole. */
export const SUMMARY_MAX = 1_000
export const STRING_MAX = 2_000
/** An event line longer than this has its peer-sized text cut (a request is journaled, not stored). */
const LINE_MAX = 16_384

/**
 * An event with what came from a peer bounded: the summary and every string of the detail cut to their
 * limits with their full length noted, long lists cut likewise. Used only for lines over LINE_MAX.
 */
function boundEvent(event: JournalEvent): JournalEvent {
  const cut = (text: string, max: number): string =>
    text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters, cut)`
  const bound = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return cut(value, STRING_MAX)
    if (typeof value !== 'object' || value === null) return value
    if (depth > 6) return '(nested too deep, cut)'
    if (Array.isArray(value)) {
      const kept = value.slice(0, 100).map((v) => bound(v, depth + 1))
      return value.length > 100 ? [...kept, `(${value.length - 100} more, cut)`] : kept
    }
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[cut(k, 100)] = bound(v, depth + 1)
    return out
  }
  return {
    ...event,
    summary: cut(event.summary, SUMMARY_MAX),
    detail: bound(event.detail, 0) as Record<string, unknown>,
  }
}

/**
 * An event's JSON line, as `JSON.stringify(event)` writes it, with the fixed fields written directly and the
 * detail taken as given when the server kept it serialized (`detailJson`).
 */
export function eventLine(event: JournalEvent, detailJson?: string): string {
  const p = event.peer
  return (
    `{"seq":${event.seq},"time":"${event.time}"` +
    (event.wall !== undefined ? `,"wall":"${event.wall}"` : '') +
    `,"server":${JSON.stringify(event.server)}` +
    (event.device !== undefined ? `,"device":${JSON.stringify(event.device)}` : '') +
    (p !== undefined
      ? `,"peer":{"address":${JSON.stringify(p.address)},"port":${JSON.stringify(p.port)},"transport":"${p.transport}"}`
      : '') +
    `,"kind":${JSON.stringify(event.kind)},"summary":${JSON.stringify(event.summary)}` +
    `,"detail":${detailJson ?? JSON.stringify(event.detail)}}\n`
  )
}

/** The rotated file beside a journal file: journal.jsonl → journal.1.jsonl. */
function olderFile(file: string): string {
  return file.replace(/\.jsonl$/, '') + '.1.jsonl'
}

/** An event from a line of a journal file; undefined for what is not one (a line cut by a crash). */
export function parseLine(line: string): JournalEvent | undefined {
  try {
    const event = JSON.parse(line) as JournalEvent
    return typeof event === 'object' &&
      event !== null &&
      typeof event.seq === 'number' &&
      typeof event.kind === 'string'
      ? event
      : undefined
  } catch {
    return undefined
  }
}

export class Journal {
  readonly devices: DeviceRegistry
  readonly #clock: Clock
  readonly #labClock: LabClock | undefined
  readonly #capacity: number
  readonly #capacityBytes: number
  readonly #fileMaxBytes: number
  readonly #file: string | undefined
  #fileBytes = 0
  /**
   * The events in memory, as their JSON lines in UTF-8 (one octet for nearly every character): outside the
   * V8 heap, a sixth of what the event objects took there; queries parse what they read. Lines recorded with
   * `recordThen` wait there, unwritten, for the batch's one write.
   */
  readonly #lines = new LineStore()
  readonly #listeners = new Set<Listener>()
  #fd: number | undefined
  #seq = 0
  /** Events up to this one were cleared: reading the files does not bring them back. */
  #clearedThrough = 0
  /** The sends waiting for the lines `recordThen` batched. */
  #pendingActions: (() => void)[] = []
  #flushScheduled = false
  #lastMs = Number.NaN
  #lastTime = ''

  constructor(options: JournalOptions) {
    this.#clock = options.clock
    this.#labClock = options.clock instanceof LabClock ? options.clock : undefined
    this.#capacity = options.capacity ?? 100_000
    this.#capacityBytes = options.capacityBytes ?? 8 * 1024 * 1024
    this.#fileMaxBytes = options.fileMaxBytes ?? 256 * 1024 * 1024
    this.#file = options.file
    this.devices = options.devices ?? new DeviceRegistry()
    if (options.file !== undefined) {
      try {
        mkdirSync(dirname(options.file), { recursive: true })
        this.#fd = openSync(options.file, 'a')
        this.#fileBytes = fstatSync(this.#fd).size
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
    const { event, line } = this.#make(input)
    // Batched lines go first, in the same write, so the file keeps sequence order.
    this.#lines.push(line, this.#fd !== undefined)
    this.#write()
    this.#publish(event)
    this.#rotateIfFull()
    return event
  }

  /**
   * Writes the unwritten lines from the octets kept in memory (encoded once): lines stored one after another
   * go out as one piece, so a batch is one or two system calls.
   */
  #write(): void {
    if (this.#fd === undefined) return
    const failing = this.#failing
    if (failing && Date.now() - failing.triedAt < WRITE_RETRY_MS) {
      this.#lines.takeUnwritten((_bytes, _start, _end, lines) => void (failing.missing += lines))
      return
    }
    // After a failure, a newline first ends whatever line the failed write tore.
    let ok = failing === undefined || this.#tryWrite(NEWLINE, 0, 1)
    this.#lines.takeUnwritten((bytes, start, end, lines) => {
      if (ok) ok = this.#tryWrite(bytes, start, end)
      if (!ok) this.#failing!.missing += lines
    })
    if (failing && ok) this.#resumed(failing)
  }

  /**
   * The file could not be written (a full disk, a quota, an I/O error): the events stay in memory, the lab
   * keeps serving, and the journal says so — an event in memory now, and when writing works again, one in
   * the file that counts the lines it is missing. Tried again at most once a second while it fails.
   */
  #failing: { error: string; since: number; missing: number; triedAt: number } | undefined

  #tryWrite(bytes: Uint8Array, start: number, end: number): boolean {
    try {
      for (let done = start; done < end;) done += writeSync(this.#fd!, bytes, done, end - done)
      this.#fileBytes += end - start
      return true
    } catch (err) {
      this.#failed(err)
      return false
    }
  }

  #failed(err: unknown): void {
    if (this.#failing) {
      this.#failing.triedAt = Date.now()
      return
    }
    const error = (err as Error).message
    this.#failing = { error, since: this.#seq, missing: 0, triedAt: Date.now() }
    const { event, line } = this.#make({
      server: 'lab',
      kind: 'journal:write-failed',
      summary: `the journal file ${this.#file ?? ''} cannot be written (${error}): events are kept in memory only until it can`,
      detail: { file: this.#file, error },
    })
    this.#lines.push(line, false)
    this.#publish(event)
  }

  #resumed(failing: { error: string; since: number; missing: number }): void {
    this.#failing = undefined
    const { event, line } = this.#make({
      server: 'lab',
      kind: 'journal:write-resumed',
      summary: `the journal file is written again: ${failing.missing} line(s) after #${failing.since} are missing from it (memory has them)`,
      detail: { file: this.#file, missing: failing.missing, since: failing.since, error: failing.error },
    })
    this.#lines.push(line, true)
    this.#write()
    this.#publish(event)
  }

  /** Whether the file is being written, and how many lines it is missing when it is not. */
  get fileStatus(): JournalFileStatus {
    const f = this.#failing
    return f ? { writing: false, missing: f.missing, error: f.error } : { writing: true, missing: 0 }
  }

  /**
   * Past fileMaxBytes, the file is rotated once the events just written are published, and the new file
   * begins with a `journal:rotated` event: sequence order holds in memory and across the two files.
   */
  #rotateIfFull(): void {
    const file = this.#file
    if (this.#fileMaxBytes <= 0 || this.#fileBytes < this.#fileMaxBytes) return
    if (file === undefined || this.#fd === undefined || this.#failing) return
    const older = olderFile(file)
    try {
      closeSync(this.#fd)
      renameSync(file, older)
      this.#fd = openSync(file, 'a')
    } catch (err) {
      this.#failed(err)
      try {
        this.#fd = openSync(file, 'a')
      } catch {
        this.#fd = undefined // no file to write to any more; memory keeps every event
      }
      return
    }
    this.#fileBytes = 0
    const { event, line } = this.#make({
      server: 'lab',
      kind: 'journal:rotated',
      summary: `journal file reached ${this.#fileMaxBytes} octets: events up to #${this.#seq} are in ${older} (one older generation is kept)`,
      detail: { previous: older, maxBytes: this.#fileMaxBytes, lastSeq: this.#seq },
    })
    this.#lines.push(line, true)
    this.#write()
    this.#publish(event)
  }

  /**
   * Records an event and runs `then` (the send of the answer it describes) once the event is in the file.
   * Events recorded this way in one turn of the event loop are written with one write (group commit), so a
   * busy server pays one system call per batch rather than per answer, and an answer a client saw is still
   * always in the file first.
   */
  recordThen(input: JournalInput, then: () => void): JournalEvent {
    const { event, line } = this.#make(input)
    if (this.#fd === undefined) {
      this.#lines.push(line, false)
      this.#publish(event)
      then()
      return event
    }
    this.#lines.push(line, true)
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
    const actions = this.#pendingActions
    this.#pendingActions = []
    this.#write()
    for (const a of actions) a()
    this.#rotateIfFull()
  }

  /** The event and its JSON line, with peer-sized text bounded (a long line is rebuilt, a short one kept). */
  #make(input: JournalInput): { event: JournalEvent; line: string } {
    const event = this.#event(input)
    const line = eventLine(event, input.detailJson)
    if (line.length <= LINE_MAX) return { event, line }
    const bounded = boundEvent(event)
    return { event: bounded, line: JSON.stringify(bounded) + '\n' }
  }

  #event(input: JournalInput): JournalEvent {
    // What a server learnt of the device (a lease, a bind) is tied to the address it came from.
    const peerIp = input.peerIsDevice === false ? undefined : input.peer?.address
    if (input.device) this.devices.learn({ ...(peerIp !== undefined ? { ip: peerIp } : {}), ...input.device })
    const device = this.devices.resolve(input.device, peerIp)
    const event: JournalEvent = {
      seq: ++this.#seq,
      time: this.#time(),
      ...(this.#labClock?.departed === true
        ? { wall: new Date(this.#labClock.wallNow()).toISOString() }
        : {}),
      server: input.server,
      ...(device ? { device } : {}),
      ...(input.peer
        ? { peer: { address: input.peer.address, port: input.peer.port, transport: input.peer.transport } }
        : {}),
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

  /** Publishes an event whose line was just stored. */
  #publish(event: JournalEvent): void {
    // Trimmed in batches, as the byte bound is: lines are dropped a sixteenth of the capacity at a time.
    const overCount = this.#lines.length > this.#capacity + Math.max(64, this.#capacity >>> 4)
    if (overCount || this.#lines.bytes > this.#capacityBytes) this.#trim()
    if (this.#listeners.size > 0) for (const l of [...this.#listeners]) l(event)
  }

  /** Drops the oldest events until at most `capacity` events and 7/8 of `capacityBytes` remain in memory. */
  #trim(): void {
    const lines = this.#lines
    let drop = Math.max(0, lines.length - this.#capacity)
    let bytes = lines.bytes
    for (let i = 0; i < drop; i++) bytes -= lines.lineBytes(i)
    const target = this.#capacityBytes - (this.#capacityBytes >>> 3)
    while (bytes > target && drop < lines.length - 1) bytes -= lines.lineBytes(drop++)
    lines.drop(drop)
  }

  /** Octets (as JSON) of the events held in memory. */
  get memoryBytes(): number {
    return this.#lines.bytes
  }

  /**
   * Events in memory that match (the newest `capacity` of them), oldest first; `limit` keeps the newest N.
   * Read newest first and stopped at `limit`; `afterSeq` starts at its event; a line that cannot name the
   * server or exact kind asked for is not parsed.
   */
  query(filter: JournalFilter = {}, limit?: number): JournalEvent[] {
    const lines = this.#lines
    // The lines kept are the newest events, one each, in sequence: line 0 is event #(lastSeq - length + 1).
    const firstSeq = this.#seq - lines.length + 1
    const after = filter.afterSeq !== undefined ? filter.afterSeq - firstSeq + 1 : 0
    const start = Math.max(0, lines.length - this.#capacity, after)
    const kind =
      filter.kind !== undefined && !/[:*]$/.test(filter.kind)
        ? `"kind":${JSON.stringify(filter.kind)}`
        : undefined
    const server = filter.server !== undefined ? `"server":${JSON.stringify(filter.server)}` : undefined
    const out: JournalEvent[] = []
    const want = limit ?? Infinity
    for (let i = lines.length - 1; i >= start && out.length < want; i--) {
      const line = lines.line(i)
      if ((kind !== undefined && !line.includes(kind)) || (server !== undefined && !line.includes(server)))
        continue
      const event = JSON.parse(line.toString()) as JournalEvent
      if (matchesFilter(event, filter)) out.push(event)
    }
    return out.reverse()
  }

  /**
   * As `query`, and what memory no longer holds is read from the journal's files (the rotated one first, then
   * the current one), a line at a time: a lab that has run long enough to drop its oldest events from memory
   * still answers for them. Events cleared with `clear` stay cleared.
   */
  async queryAll(filter: JournalFilter = {}, limit?: number): Promise<JournalEvent[]> {
    const recent = this.query(filter, limit)
    const want = (limit ?? Infinity) - recent.length
    // The oldest event `query` reads; those before it (and after what was cleared) are read from the files.
    const firstInMemory = this.#seq - Math.min(this.#lines.length, this.#capacity) + 1
    const from = Math.max(this.#clearedThrough, filter.afterSeq ?? 0)
    if (want <= 0 || this.#file === undefined || from + 1 >= firstInMemory) return recent
    const older: JournalEvent[] = []
    for (const file of [olderFile(this.#file), this.#file]) {
      if (!existsSync(file)) continue
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
      for await (const line of lines) {
        const event = parseLine(line)
        if (!event || event.seq <= from || event.seq >= firstInMemory || !matchesFilter(event, filter))
          continue
        older.push(event)
        // The newest `want` are kept: a long file costs what the answer holds, not what the file holds.
        if (older.length > 2 * want + 1024) older.splice(0, older.length - want)
      }
    }
    return [...older.slice(Math.max(0, older.length - want)), ...recent]
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
    this.#clearedThrough = this.#seq
    this.#lines.clear()
  }

  close(): void {
    this.flush()
    if (this.#fd !== undefined) {
      closeSync(this.#fd)
      this.#fd = undefined
    }
  }
}
