import { LabDecodeError } from '../../core/errors.js'

/**
 * NTP packet codec (RFC 5905 §7.3), pure: no sockets, clocks or logs. Timestamps stay raw 64-bit 32.32
 * values so that an origin timestamp is echoed bit for bit; helpers convert to and from Unix milliseconds.
 */
export interface NtpPacket {
  /** LI: 0 none, 1 insert, 2 delete, 3 unsynchronised. */
  readonly leap: number
  readonly version: number
  /** 3 client, 4 server, … */
  readonly mode: number
  readonly stratum: number
  /** log2 seconds, signed. */
  readonly poll: number
  readonly precision: number
  /** Raw NTP short format (16.16). */
  readonly rootDelay: number
  readonly rootDispersion: number
  /** 4 bytes: an ASCII kiss/reference code or an IPv4 address. */
  readonly referenceId: Uint8Array
  readonly referenceTimestamp: bigint
  readonly originTimestamp: bigint
  readonly receiveTimestamp: bigint
  readonly transmitTimestamp: bigint
  /** Whatever follows the 48-byte header (extension fields, MAC), kept verbatim. */
  readonly extra: Uint8Array
}

export const NTP_HEADER_LENGTH = 48
/** Larger datagrams are not NTP a phone would send. */
export const NTP_MAX_LENGTH = 1024

export const NtpMode = {
  symmetricActive: 1,
  symmetricPassive: 2,
  client: 3,
  server: 4,
  broadcast: 5,
} as const
export const NtpLeap = { none: 0, insert: 1, delete: 2, unsynchronised: 3 } as const

/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
const UNIX_TO_NTP_SECONDS = 2_208_988_800n
const ERA = 1n << 32n

export function decodeNtp(bytes: Uint8Array): NtpPacket {
  if (bytes.length < NTP_HEADER_LENGTH) {
    throw new LabDecodeError(
      'LAB_ERR_NTP_DECODE',
      `Failed to decode NTP: ${bytes.length} bytes, a packet has at least ${NTP_HEADER_LENGTH}.`,
      bytes.length,
    )
  }
  if (bytes.length > NTP_MAX_LENGTH) {
    throw new LabDecodeError(
      'LAB_ERR_NTP_DECODE',
      `Failed to decode NTP: ${bytes.length} bytes is more than ${NTP_MAX_LENGTH}.`,
      NTP_MAX_LENGTH,
    )
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const first = view.getUint8(0)
  return {
    leap: first >> 6,
    version: (first >> 3) & 7,
    mode: first & 7,
    stratum: view.getUint8(1),
    poll: view.getInt8(2),
    precision: view.getInt8(3),
    rootDelay: view.getUint32(4),
    rootDispersion: view.getUint32(8),
    referenceId: bytes.slice(12, 16),
    referenceTimestamp: view.getBigUint64(16),
    originTimestamp: view.getBigUint64(24),
    receiveTimestamp: view.getBigUint64(32),
    transmitTimestamp: view.getBigUint64(40),
    extra: bytes.slice(NTP_HEADER_LENGTH),
  }
}

export function encodingLengthNtp(packet: NtpPacket): number {
  return NTP_HEADER_LENGTH + packet.extra.length
}

export function encodeNtp(packet: NtpPacket): Uint8Array {
  const out = new Uint8Array(encodingLengthNtp(packet))
  const view = new DataView(out.buffer)
  view.setUint8(0, ((packet.leap & 3) << 6) | ((packet.version & 7) << 3) | (packet.mode & 7))
  view.setUint8(1, packet.stratum & 255)
  view.setInt8(2, packet.poll)
  view.setInt8(3, packet.precision)
  view.setUint32(4, packet.rootDelay >>> 0)
  view.setUint32(8, packet.rootDispersion >>> 0)
  out.set(packet.referenceId.subarray(0, 4), 12)
  view.setBigUint64(16, BigInt.asUintN(64, packet.referenceTimestamp))
  view.setBigUint64(24, BigInt.asUintN(64, packet.originTimestamp))
  view.setBigUint64(32, BigInt.asUintN(64, packet.receiveTimestamp))
  view.setBigUint64(40, BigInt.asUintN(64, packet.transmitTimestamp))
  out.set(packet.extra, NTP_HEADER_LENGTH)
  return out
}

/**
 * Unix milliseconds (fractional allowed) to a 64-bit NTP timestamp. The seconds wrap at the 2036 era boundary
 * as RFC 5905 §6 says; the fraction keeps sub-millisecond precision.
 */
export function ntpTimestampFromUnixMs(ms: number): bigint {
  const wholeMs = Math.floor(ms)
  const subMs = ms - wholeMs
  const seconds = BigInt(Math.floor(wholeMs / 1000)) + UNIX_TO_NTP_SECONDS
  const msInSecond = ((wholeMs % 1000) + 1000) % 1000
  const fraction = BigInt(Math.floor(((msInSecond + subMs) / 1000) * 2 ** 32))
  return ((((seconds % ERA) + ERA) % ERA) << 32n) | (fraction & 0xffffffffn)
}

/** A 64-bit NTP timestamp to Unix milliseconds, choosing the era closest to `pivotMs` (default: now-ish). */
export function unixMsFromNtpTimestamp(ts: bigint, pivotMs: number): number {
  const seconds = ts >> 32n
  const fraction = Number(ts & 0xffffffffn) / 2 ** 32
  const pivotNtp = BigInt(Math.floor(pivotMs / 1000)) + UNIX_TO_NTP_SECONDS
  const era = pivotNtp / ERA
  let best = 0
  let bestDistance = Infinity
  for (const e of [era - 1n, era, era + 1n]) {
    const candidate = Number(e * ERA + seconds - UNIX_TO_NTP_SECONDS) * 1000 + fraction * 1000
    const distance = Math.abs(candidate - pivotMs)
    if (distance < bestDistance) {
      bestDistance = distance
      best = candidate
    }
  }
  return best
}

/** NTP short format (16.16 seconds) from milliseconds. */
export function ntpShortFromMs(ms: number): number {
  return Math.min(0xffffffff, Math.max(0, Math.round((ms / 1000) * 65536))) >>> 0
}

/** A reference ID from four ASCII characters (kiss codes, LOCL, GPS) or a dotted IPv4 address. */
export function referenceIdFrom(text: string): Uint8Array {
  const ip = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (ip) return Uint8Array.from(ip.slice(1).map((o) => Number(o) & 255))
  const out = new Uint8Array(4)
  for (let i = 0; i < 4 && i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f
  return out
}

export function referenceIdText(id: Uint8Array): string {
  return Array.from(id)
    .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ''))
    .join('')
}

/** A client-mode request (mode 3) whose transmit timestamp identifies it: what an SNTP client sends. */
export function clientRequest(version: number, transmitTimestamp: bigint): NtpPacket {
  return {
    leap: 0,
    version,
    mode: 3,
    stratum: 0,
    poll: 6,
    precision: -20,
    rootDelay: 0,
    rootDispersion: 0,
    referenceId: new Uint8Array(4),
    referenceTimestamp: 0n,
    originTimestamp: 0n,
    receiveTimestamp: 0n,
    transmitTimestamp,
    extra: new Uint8Array(0),
  }
}
