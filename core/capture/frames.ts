/**
 * Ethernet II frames carrying IPv4 with UDP or TCP (RFC 791, 768, 793), built from what a server received and
 * sent: the lab keeps payloads, and a capture puts the headers around them as the wire had them. PURE.
 */

/** One end of a datagram or connection. */
export interface Endpoint {
  readonly address: string
  readonly port: number
}

/** The link-layer addresses a frame carries (the device's MAC when the lab knows it). */
export interface Link {
  readonly source: Uint8Array
  readonly destination: Uint8Array
}

const ETHERTYPE_IPV4 = 0x0800
const PROTO_TCP = 6
const PROTO_UDP = 17

/** TCP flags (RFC 793 §3.1). */
export const TCP_FIN = 0x01
export const TCP_SYN = 0x02
export const TCP_RST = 0x04
export const TCP_PSH = 0x08
export const TCP_ACK = 0x10

/** The largest payload one IPv4 packet carries with a 20-octet IP and a 20-octet TCP header. */
export const MAX_TCP_PAYLOAD = 65_535 - 40
/** The largest UDP payload in one IPv4 datagram. */
export const MAX_UDP_PAYLOAD = 65_535 - 28

/** An IPv4 address in four octets; anything else (an IPv6 peer, '?') reads as 0.0.0.0. */
export function ipv4Octets(address: string): Uint8Array {
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address
  const parts = mapped.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    return new Uint8Array(4)
  return Uint8Array.from(parts)
}

/** A MAC address ("00:04:f2:…", any separators) in six octets; a locally administered one if it is not one. */
export function macOctets(mac: string | undefined, fallbackLast: number): Uint8Array {
  const hex = (mac ?? '').replace(/[^0-9a-fA-F]/g, '')
  if (hex.length === 12) return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)))
  return Uint8Array.from([0x02, 0x00, 0x00, 0x00, 0x00, fallbackLast & 0xff])
}

/** The Internet checksum (RFC 1071) of some octets, folded, starting from a partial sum. */
function checksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

/** The partial sum of the pseudo-header UDP and TCP checksums cover (RFC 768, RFC 793 §3.1). */
function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, proto: number, length: number): number {
  const p = new Uint8Array(12)
  p.set(src, 0)
  p.set(dst, 4)
  p[9] = proto
  p[10] = length >>> 8
  p[11] = length & 0xff
  return ~checksum(p) & 0xffff
}

function frame(
  link: Link,
  src: Endpoint,
  dst: Endpoint,
  proto: number,
  segment: Uint8Array,
  id: number,
): Uint8Array {
  const out = new Uint8Array(14 + 20 + segment.length)
  const view = new DataView(out.buffer)
  out.set(link.destination, 0)
  out.set(link.source, 6)
  view.setUint16(12, ETHERTYPE_IPV4)
  const ip = out.subarray(14, 34)
  ip[0] = 0x45
  view.setUint16(16, 20 + segment.length)
  view.setUint16(18, id & 0xffff)
  view.setUint16(20, 0x4000) // don't fragment
  ip[8] = 64
  ip[9] = proto
  ip.set(ipv4Octets(src.address), 12)
  ip.set(ipv4Octets(dst.address), 16)
  view.setUint16(24, checksum(ip))
  out.set(segment, 34)
  return out
}

/**
 * A UDP or TCP segment in a frame: its header (written by `header` after the ports), the payload, and the
 * checksum over the pseudo-header at `checksumAt`.
 */
function segmentFrame(
  link: Link,
  src: Endpoint,
  dst: Endpoint,
  proto: number,
  headerLength: number,
  payload: Uint8Array,
  id: number,
  header: (view: DataView, length: number) => number,
): Uint8Array {
  const length = headerLength + payload.length
  const segment = new Uint8Array(length)
  const view = new DataView(segment.buffer)
  view.setUint16(0, src.port)
  view.setUint16(2, dst.port)
  const checksumAt = header(view, length)
  segment.set(payload, headerLength)
  const sum = checksum(
    segment,
    pseudoHeaderSum(ipv4Octets(src.address), ipv4Octets(dst.address), proto, length),
  )
  // RFC 768: a UDP checksum that computes to 0 is sent as all ones (0 means "none").
  view.setUint16(checksumAt, sum === 0 && proto === PROTO_UDP ? 0xffff : sum)
  return frame(link, src, dst, proto, segment, id)
}

/** A UDP datagram in a frame, with its checksum. */
export function udpFrame(
  link: Link,
  src: Endpoint,
  dst: Endpoint,
  payload: Uint8Array,
  id: number,
): Uint8Array {
  return segmentFrame(link, src, dst, PROTO_UDP, 8, payload, id, (view, length) => {
    view.setUint16(4, length)
    return 6
  })
}

/** What a TCP segment says besides its payload. */
export interface TcpHeader {
  readonly seq: number
  readonly ack: number
  readonly flags: number
}

/** A TCP segment in a frame, with its checksum (window 64 KiB, no options). */
export function tcpFrame(
  link: Link,
  src: Endpoint,
  dst: Endpoint,
  header: TcpHeader,
  payload: Uint8Array,
  id: number,
): Uint8Array {
  return segmentFrame(link, src, dst, PROTO_TCP, 20, payload, id, (view) => {
    view.setUint32(4, header.seq >>> 0)
    view.setUint32(8, header.flags & TCP_ACK ? header.ack >>> 0 : 0)
    view.setUint8(12, 5 << 4)
    view.setUint8(13, header.flags)
    view.setUint16(14, 0xffff)
    return 16
  })
}
