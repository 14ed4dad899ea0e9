import {
  MAX_TCP_PAYLOAD,
  MAX_UDP_PAYLOAD,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  macOctets,
  tcpFrame,
  udpFrame,
  type Endpoint,
  type Link,
} from './frames.js'
import { pcapng, type CapturedFrame } from './pcapng.js'
import type { CaptureRecord, CapturedConnection, CapturedDatagram, Direction } from './store.js'

/** What a capture file is written from: the records kept for a device, and who it is. */
export interface CaptureExport {
  readonly records: readonly CaptureRecord[]
  /** The device's MAC, put on its frames (else a locally administered one). */
  readonly mac?: string
  /** A comment per record (its stage and server), shown by Wireshark with each of its frames. */
  readonly comment?: (record: CaptureRecord) => string | undefined
  /**
   * The port a lab socket stands for (53 for a DNS server on an ephemeral loopback port), so that Wireshark
   * picks each protocol's dissector by its port; the lab's own port stays in the frame's comment.
   */
  readonly standardPort?: (transport: 'udp' | 'tcp', port: number) => number | undefined
}

/** The lab's side of every frame. */
const LAB_MAC = macOctets(undefined, 0x01)

/** What a capture holds: frames in time order, and the TLS key log lines Wireshark may use. */
export interface CaptureContent {
  readonly frames: CapturedFrame[]
  readonly tlsKeyLog: string[]
  /** Connections whose TLS secrets were withheld because a password crossed them inside TLS. */
  readonly withheld: number
}

/** The records as frames: datagrams as they were, connections as TCP segments of their real byte streams. */
export function captureContent(input: CaptureExport): CaptureContent {
  const device = macOctets(input.mac, 0x02)
  const links: Record<Direction, Link> = {
    in: { source: device, destination: LAB_MAC },
    out: { source: LAB_MAC, destination: device },
  }
  const frames: CapturedFrame[] = []
  const keylog: string[] = []
  let withheld = 0
  let id = 1
  for (const original of input.records) {
    const standard = input.standardPort?.(original.kind, original.local.port)
    const record =
      standard === undefined || standard === original.local.port
        ? original
        : withLocalPort(original, standard)
    const comment = [
      input.comment?.(original),
      record !== original ? `lab port ${original.local.port}` : undefined,
    ]
      .filter((c) => c !== undefined)
      .join(' · ')
    const add = (timeMs: number, bytes: Uint8Array): void => {
      frames.push({ timeMs, bytes, ...(comment ? { comment } : {}) })
    }
    if (record.kind === 'udp') {
      add(record.timeMs, datagramFrame(record, links, id++))
      continue
    }
    for (const f of connectionFrames(record, links, () => id++)) add(f.timeMs, f.bytes)
    if (record.tlsKeyLog.length === 0) continue
    if (record.concealed.length > 0) withheld++
    else keylog.push(...record.tlsKeyLog)
  }
  frames.sort((a, b) => a.timeMs - b.timeMs)
  return { frames, tlsKeyLog: keylog, withheld }
}

/** The whole pcapng file for a device, and how many frames it holds and connections' secrets it withheld. */
export function capturePcapng(input: CaptureExport & { readonly name?: string }): {
  bytes: Uint8Array
  frames: number
  withheld: number
} {
  const content = captureContent(input)
  const bytes = pcapng({
    frames: content.frames,
    tlsKeyLog: content.tlsKeyLog,
    application: 'cx700-lab',
    ...(input.name ? { interfaceName: input.name } : {}),
  })
  return { bytes, frames: content.frames.length, withheld: content.withheld }
}

function withLocalPort(r: CaptureRecord, port: number): CaptureRecord {
  return { ...r, local: { address: r.local.address, port } }
}

function ends(direction: Direction, local: Endpoint, remote: Endpoint): [Endpoint, Endpoint] {
  return direction === 'in' ? [remote, local] : [local, remote]
}

function datagramFrame(d: CapturedDatagram, links: Record<Direction, Link>, id: number): Uint8Array {
  const [src, dst] = ends(d.direction, d.local, d.remote)
  return udpFrame(links[d.direction], src, dst, d.bytes.subarray(0, MAX_UDP_PAYLOAD), id)
}

/** Each side's initial sequence number, fixed per connection so that a file is the same when written twice. */
function initialSequence(c: CapturedConnection, direction: Direction): number {
  const seed = Math.imul(c.id, 0x9e3779b1) ^ (direction === 'in' ? 0x1000 : 0x2000_0000)
  return seed >>> 0
}

function connectionFrames(
  c: CapturedConnection,
  links: Record<Direction, Link>,
  nextId: () => number,
): { timeMs: number; bytes: Uint8Array }[] {
  const out: { timeMs: number; bytes: Uint8Array }[] = []
  const isn = { in: initialSequence(c, 'in'), out: initialSequence(c, 'out') }
  const other = (d: Direction): Direction => (d === 'in' ? 'out' : 'in')
  const emit = (
    timeMs: number,
    d: Direction,
    seq: number,
    ack: number,
    flags: number,
    payload: Uint8Array,
  ): void => {
    const [src, dst] = ends(d, c.local, c.remote)
    out.push({ timeMs, bytes: tcpFrame(links[d], src, dst, { seq, ack, flags }, payload, nextId()) })
  }
  if (c.evicted === 0) {
    // The three-way handshake, as the connection began.
    emit(c.openedMs, 'in', isn.in, 0, TCP_SYN, new Uint8Array(0))
    emit(c.openedMs, 'out', isn.out, isn.in + 1, TCP_SYN | TCP_ACK, new Uint8Array(0))
    emit(c.openedMs, 'in', isn.in + 1, isn.out + 1, TCP_ACK, new Uint8Array(0))
  }
  const inbound = masked(c)
  for (const s of c.segments) {
    const seq = isn[s.direction] + 1 + s.offset
    const ack = isn[other(s.direction)] + 1 + s.peerOffset
    if (s.flag === 'fin') emit(s.timeMs, s.direction, seq, ack, TCP_FIN | TCP_ACK, new Uint8Array(0))
    else if (s.flag === 'rst') emit(s.timeMs, s.direction, seq, ack, TCP_RST | TCP_ACK, new Uint8Array(0))
    else {
      const bytes = s.direction === 'in' ? (inbound.get(s) ?? s.bytes) : s.bytes
      for (let at = 0; at < bytes.length; at += MAX_TCP_PAYLOAD) {
        const piece = bytes.subarray(at, at + MAX_TCP_PAYLOAD)
        emit(s.timeMs, s.direction, seq + at, ack, TCP_PSH | TCP_ACK, piece)
      }
    }
  }
  return out
}

/**
 * The inbound segments with every concealed secret overwritten by '*' (same length, so the protocol still
 * parses): found in the stream as a whole, since a secret may straddle two segments.
 */
function masked(c: CapturedConnection): Map<object, Uint8Array> {
  const result = new Map<object, Uint8Array>()
  if (c.concealed.length === 0) return result
  const inbound = c.segments.filter((s) => s.direction === 'in' && s.bytes.length > 0)
  const stream = Buffer.concat(inbound.map((s) => s.bytes))
  for (const secret of c.concealed) {
    for (let at = stream.indexOf(secret); at >= 0; at = stream.indexOf(secret, at + secret.length))
      stream.fill(0x2a, at, at + secret.length)
  }
  let at = 0
  for (const s of inbound) {
    result.set(s, Uint8Array.from(stream.subarray(at, at + s.bytes.length)))
    at += s.bytes.length
  }
  return result
}
