import type { DeviceRef } from '../journal/devices.js'
import { ByteArena } from './arena.js'
import type { Endpoint } from './frames.js'

/** Which way the octets went: `in` from the peer to the lab, `out` from the lab to the peer. */
export type Direction = 'in' | 'out'

/** How much the lab keeps of what crossed its sockets. */
export interface CaptureOptions {
  /** At most this many octets per device (the oldest go first); 0 keeps nothing. */
  readonly perDeviceBytes: number
  /** At most this many octets in all (the least recently heard device loses its oldest first). */
  readonly totalBytes: number
  /**
   * Whose traffic is kept: `phones`, the devices the lab knows by their MAC (a DHCP lease, a chaddr) — what QA
   * captures, and what keeps load generators and tools off the costlier capturing paths — or `all`.
   */
  readonly scope: 'phones' | 'all'
}

export const DEFAULT_CAPTURE: CaptureOptions = {
  perDeviceBytes: 4 * 1024 * 1024,
  totalBytes: 32 * 1024 * 1024,
  scope: 'phones',
}

/** One UDP datagram as a server received or sent it. */
export interface CapturedDatagram {
  readonly kind: 'udp'
  readonly server: string
  readonly timeMs: number
  readonly direction: Direction
  readonly local: Endpoint
  readonly remote: Endpoint
  readonly bytes: Uint8Array
}

/**
 * One piece of a TCP connection's byte stream, with where it sits in both streams: `offset` is how much this
 * direction had carried before it, `peerOffset` how much the other had (what the segment acknowledges). A FIN
 * or RST carries no octets.
 */
export interface CapturedSegment {
  readonly timeMs: number
  readonly direction: Direction
  readonly bytes: Uint8Array
  readonly offset: number
  readonly peerOffset: number
  readonly flag?: 'fin' | 'rst'
}

/** One TCP connection: its ends, the segments still kept, its TLS key log lines, what must not be shown. */
export interface CapturedConnection {
  readonly kind: 'tcp'
  readonly id: number
  readonly server: string
  readonly openedMs: number
  readonly local: Endpoint
  readonly remote: Endpoint
  readonly segments: CapturedSegment[]
  /** How many segments from the start were dropped for the bounds (the handshake is then not shown). */
  evicted: number
  /** How many of its items the bounds still keep (it goes with the last). */
  live: number
  readonly tlsKeyLog: string[]
  /** Secrets that crossed in clear (a simple bind's password, Basic credentials), masked on export. */
  readonly concealed: Uint8Array[]
}

export type CaptureRecord = CapturedDatagram | CapturedConnection

/** A connection being captured: the server's socket tap reports to it. */
export interface ConnectionTap {
  data(direction: Direction, bytes: Uint8Array): void
  fin(direction: Direction): void
  reset(direction: Direction): void
  /** A TLS key log line of this connection (Node's `keylog` event). */
  keylog(line: string): void
  /** Octets that must never be served: masked in the capture, and the TLS secrets withheld when encrypted. */
  conceal(secret: Uint8Array): void
}

/** What a capture is keyed by: the device's MAC when the lab knows it, else the peer's address. */
export function deviceKey(device: DeviceRef | undefined, address: string): string {
  return device?.mac ?? device?.ip ?? address
}

/** A segment as kept: it knows its connection, so it is its own item in the bucket's queue. */
interface KeptSegment extends CapturedSegment {
  readonly connection: CapturedConnection
}

/** A connection's TLS key log line or concealed secret, as an item: what it costs and whose it is. */
interface KeptExtra {
  readonly what: 'keylog' | 'secret'
  readonly size: number
  readonly connection: CapturedConnection
}

/**
 * One thing kept, in the order it came: a datagram, a connection's opening, one of its segments, a key log
 * line or a secret. Each is dropped from the front of its bucket's queue.
 */
type Item = CapturedDatagram | CapturedConnection | KeptSegment | KeptExtra

interface Bucket {
  readonly key: string
  readonly mac?: string
  readonly records: CaptureRecord[]
  readonly items: (Item | undefined)[]
  /** Where the bucket's octets are copied to, in the order they came (the order they go). */
  readonly arena: ByteArena
  head: number
  bytes: number
}

/**
 * What a captured item costs against the bounds besides its octets — its object, its view into the arena,
 * its time, its place in two queues — as measured on Node 24 (`capture.test.ts` holds the store's heap to
 * what it counts).
 */
const OVERHEAD = 256

const NOTHING = new Uint8Array(0)

function sizeOf(item: Item): number {
  if ('what' in item) return item.size
  if ('bytes' in item) return item.bytes.length + OVERHEAD
  return OVERHEAD
}

const NO_TAP: ConnectionTap = {
  data: () => undefined,
  fin: () => undefined,
  reset: () => undefined,
  keylog: () => undefined,
  conceal: () => undefined,
}

/**
 * The raw octets the lab's servers received and sent, per device and bounded: per device (oldest first) and
 * in all (the device heard least recently gives way). A TCP connection keeps its place in both byte streams,
 * so a capture written after its start was dropped still has consistent sequence numbers.
 */
export class CaptureStore {
  #options: CaptureOptions
  readonly #resolve: (peerAddress: string, hint?: DeviceRef) => DeviceRef | undefined
  readonly #now: () => number
  /** Least recently heard first. */
  readonly #buckets = new Map<string, Bucket>()
  #total = 0
  #nextId = 1

  constructor(options: {
    readonly capture?: CaptureOptions
    /** Who a peer is (the journal's device registry). */
    readonly resolve: (peerAddress: string, hint?: DeviceRef) => DeviceRef | undefined
    /** Lab time, as the journal stamps its events. */
    readonly now: () => number
  }) {
    this.#options = options.capture ?? DEFAULT_CAPTURE
    this.#resolve = options.resolve
    this.#now = options.now
  }

  get options(): CaptureOptions {
    return this.#options
  }

  get enabled(): boolean {
    return this.#options.perDeviceBytes > 0 && this.#options.totalBytes > 0
  }

  /** Whether what a peer sends and gets is kept (captures on, and within the scope). */
  wants(address: string, hint?: DeviceRef): boolean {
    if (!this.enabled) return false
    return this.#options.scope === 'all' || (hint?.mac ?? this.#resolve(address, hint)?.mac) !== undefined
  }

  /** How many octets are kept, in all. */
  get bytes(): number {
    return this.#total
  }

  /** New bounds; what is over them now goes at once. */
  configure(options: CaptureOptions): void {
    this.#options = options
    for (const b of [...this.#buckets.values()]) this.#trim(b)
    this.#trimTotal()
  }

  datagram(
    server: string,
    direction: Direction,
    local: Endpoint,
    remote: Endpoint,
    bytes: Uint8Array,
    hint?: DeviceRef,
  ): void {
    if (!this.wants(remote.address, hint)) return
    const bucket = this.#bucket(remote.address, hint)
    const record: CapturedDatagram = {
      kind: 'udp',
      server,
      timeMs: this.#now(),
      direction,
      local: { address: local.address, port: local.port },
      remote: { address: remote.address, port: remote.port },
      bytes: bucket.arena.copy(bytes),
    }
    bucket.records.push(record)
    this.#add(bucket, record)
  }

  /** A connection the lab accepted; its tap records what crosses it. */
  connection(server: string, local: Endpoint, remote: Endpoint, hint?: DeviceRef): ConnectionTap {
    if (!this.wants(remote.address, hint)) return NO_TAP
    const conn: CapturedConnection = {
      kind: 'tcp',
      id: this.#nextId++,
      server,
      openedMs: this.#now(),
      local: { address: local.address, port: local.port },
      remote: { address: remote.address, port: remote.port },
      segments: [],
      evicted: 0,
      live: 0,
      tlsKeyLog: [],
      concealed: [],
    }
    // The tap keeps this bucket for the connection's life: should the bounds empty it (and drop it from the
    // map), the connection's next piece puts it back (#touch), so a long connection is never lost track of.
    const bucket = this.#bucket(remote.address, hint)
    bucket.records.push(conn)
    this.#add(bucket, conn)
    const carried = { in: 0, out: 0 }
    const ended = { in: false, out: false }
    const other = (d: Direction): Direction => (d === 'in' ? 'out' : 'in')
    const push = (direction: Direction, bytes: Uint8Array, flag?: 'fin' | 'rst'): void => {
      if (ended[direction]) return
      const segment: KeptSegment = {
        connection: conn,
        timeMs: this.#now(),
        direction,
        bytes,
        offset: carried[direction],
        peerOffset: carried[other(direction)],
        ...(flag ? { flag } : {}),
      }
      carried[direction] += bytes.length + (flag === 'fin' ? 1 : 0)
      if (flag) ended[direction] = true
      conn.segments.push(segment)
      this.#touch(bucket)
      this.#add(bucket, segment)
    }
    return {
      data: (direction, bytes) => {
        if (bytes.length > 0) push(direction, bucket.arena.copy(bytes))
      },
      fin: (direction) => push(direction, NOTHING, 'fin'),
      reset: (direction) => push(direction, NOTHING, 'rst'),
      keylog: (line) => {
        conn.tlsKeyLog.push(line.trim())
        this.#add(bucket, { what: 'keylog', size: line.length + OVERHEAD, connection: conn })
      },
      conceal: (secret) => {
        // Once per secret: a keep-alive connection sends the same Basic credentials with every request.
        if (secret.length === 0 || conn.concealed.some((c) => Buffer.from(c).equals(secret))) return
        conn.concealed.push(Uint8Array.from(secret))
        this.#add(bucket, { what: 'secret', size: secret.length + OVERHEAD, connection: conn })
      },
    }
  }

  /** The devices with something captured, most recently heard last. */
  devices(): { key: string; mac?: string; bytes: number; records: number }[] {
    return [...this.#buckets.values()].map((b) => ({
      key: b.key,
      ...(b.mac ? { mac: b.mac } : {}),
      bytes: b.bytes,
      records: b.records.length,
    }))
  }

  /** What is kept for one device (a MAC, or an address the lab never tied to one), oldest first. */
  records(key: string): readonly CaptureRecord[] {
    return this.#buckets.get(key.toLowerCase())?.records ?? []
  }

  /** The MAC a device's frames carry, when the lab knows it. */
  macOf(key: string): string | undefined {
    return this.#buckets.get(key.toLowerCase())?.mac
  }

  #bucket(address: string, hint: DeviceRef | undefined): Bucket {
    const device = this.#resolve(address, hint)
    const key = deviceKey(device, address).toLowerCase()
    let bucket = this.#buckets.get(key)
    if (!bucket) {
      const mac = device?.mac ? { mac: device.mac } : {}
      bucket = { key, ...mac, records: [], items: [], arena: new ByteArena(), head: 0, bytes: 0 }
      this.#buckets.set(key, bucket)
    } else this.#touch(bucket)
    return bucket
  }

  #touch(bucket: Bucket): void {
    this.#buckets.delete(bucket.key)
    this.#buckets.set(bucket.key, bucket)
  }

  #add(bucket: Bucket, item: Item): void {
    const size = sizeOf(item)
    if ('connection' in item) item.connection.live++
    else if (item.kind === 'tcp') item.live++
    bucket.items.push(item)
    bucket.bytes += size
    this.#total += size
    this.#trim(bucket)
    this.#trimTotal()
  }

  #trim(bucket: Bucket): void {
    while (bucket.bytes > this.#options.perDeviceBytes && this.#evict(bucket));
  }

  #trimTotal(): void {
    for (const bucket of this.#buckets.values()) {
      if (this.#total <= this.#options.totalBytes) return
      while (this.#total > this.#options.totalBytes && this.#evict(bucket));
    }
  }

  /** Drops a bucket's oldest item: a datagram, a connection's oldest segment or key log line, its opening. */
  #evict(bucket: Bucket): boolean {
    const item = bucket.items[bucket.head]
    if (!item) {
      this.#buckets.delete(bucket.key)
      return false
    }
    bucket.items[bucket.head++] = undefined
    const size = sizeOf(item)
    bucket.bytes -= size
    this.#total -= size
    if ('connection' in item) {
      const conn = item.connection
      if (!('what' in item) && conn.segments.shift()) conn.evicted++
      if ('what' in item && item.what === 'keylog') conn.tlsKeyLog.shift()
      if (--conn.live === 0) removeRecord(bucket, conn)
    } else if (item.kind === 'udp' || --item.live === 0) removeRecord(bucket, item)
    if (bucket.head >= bucket.items.length) {
      this.#buckets.delete(bucket.key)
      return false
    }
    // The queue is compacted once a quarter of it is spent, so it holds at most a third more than it keeps.
    if (bucket.head > 256 && bucket.head * 4 > bucket.items.length) {
      bucket.items.splice(0, bucket.head)
      bucket.head = 0
    }
    return true
  }
}

function removeRecord(bucket: Bucket, record: CaptureRecord): void {
  const at = bucket.records.indexOf(record)
  if (at >= 0) bucket.records.splice(at, 1)
}
