/**
 * The PCAP Next Generation file format (draft-ietf-opsawg-pcapng): a Section Header, one Ethernet interface,
 * a Decryption Secrets Block with TLS key log lines (so Wireshark decrypts TLS without any setup), and one
 * Enhanced Packet Block per frame. Little-endian. PURE.
 */

import { LabDecodeError } from '../errors.js'

const SHB = 0x0a0d0d0a
const IDB = 0x00000001
const EPB = 0x00000006
const DSB = 0x0000000a
const BYTE_ORDER_MAGIC = 0x1a2b3c4d
/** LINKTYPE_ETHERNET. */
const LINKTYPE_ETHERNET = 1
/** Secrets Type "TLSK": NSS key log lines. */
const SECRETS_TLS_KEYLOG = 0x544c534b

const OPT_ENDOFOPT = 0
const OPT_COMMENT = 1
const SHB_USERAPPL = 4
const IF_NAME = 2
const IF_TSRESOL = 9

/** One frame to write: when (ms since the epoch, microsecond resolution kept) and its octets. */
export interface CapturedFrame {
  readonly timeMs: number
  readonly bytes: Uint8Array
  /** Shown by Wireshark as the packet's comment (`frame.comment`). */
  readonly comment?: string
}

export interface PcapngInput {
  readonly frames: readonly CapturedFrame[]
  /** NSS key log lines ("CLIENT_RANDOM …", TLS 1.3 traffic secrets), one per entry. */
  readonly tlsKeyLog?: readonly string[]
  /** Names the capture's interface (`if_name`). */
  readonly interfaceName?: string
  /** The application that wrote the file (`shb_userappl`). */
  readonly application?: string
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4

function option(code: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + value.length + pad4(value.length))
  const view = new DataView(out.buffer)
  view.setUint16(0, code, true)
  view.setUint16(2, value.length, true)
  out.set(value, 4)
  return out
}

function options(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length === 0) return new Uint8Array(0)
  return concat([...entries, new Uint8Array(4)]) // opt_endofopt: code 0, length 0
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** A block: type, total length, body (padded to 32 bits), total length again. */
function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + body.length + pad4(body.length)
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  view.setUint32(0, type, true)
  view.setUint32(4, total, true)
  out.set(body, 8)
  view.setUint32(total - 4, total, true)
  return out
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

function sectionHeader(application: string | undefined): Uint8Array {
  const fixed = new Uint8Array(16)
  const view = new DataView(fixed.buffer)
  view.setUint32(0, BYTE_ORDER_MAGIC, true)
  view.setUint16(4, 1, true)
  view.setUint16(6, 0, true)
  view.setBigInt64(8, -1n, true) // section length not given
  return block(SHB, concat([fixed, options(application ? [option(SHB_USERAPPL, utf8(application))] : [])]))
}

function interfaceDescription(name: string | undefined): Uint8Array {
  const fixed = new Uint8Array(8)
  const view = new DataView(fixed.buffer)
  view.setUint16(0, LINKTYPE_ETHERNET, true)
  view.setUint32(4, 0, true) // no snap length
  const opts = [option(IF_TSRESOL, Uint8Array.of(6))]
  if (name) opts.unshift(option(IF_NAME, utf8(name)))
  return block(IDB, concat([fixed, options(opts)]))
}

function decryptionSecrets(lines: readonly string[]): Uint8Array {
  const data = utf8(lines.map((l) => `${l}\n`).join(''))
  const head = new Uint8Array(8)
  const view = new DataView(head.buffer)
  view.setUint32(0, SECRETS_TLS_KEYLOG, true)
  view.setUint32(4, data.length, true)
  return block(DSB, concat([head, data, new Uint8Array(pad4(data.length))]))
}

function enhancedPacket(f: CapturedFrame): Uint8Array {
  const micros = BigInt(Math.round(f.timeMs * 1000))
  const fixed = new Uint8Array(20)
  const view = new DataView(fixed.buffer)
  view.setUint32(0, 0, true) // interface 0
  view.setUint32(4, Number(micros >> 32n), true)
  view.setUint32(8, Number(micros & 0xffffffffn), true)
  view.setUint32(12, f.bytes.length, true)
  view.setUint32(16, f.bytes.length, true)
  return block(
    EPB,
    concat([
      fixed,
      f.bytes,
      new Uint8Array(pad4(f.bytes.length)),
      options(f.comment ? [option(OPT_COMMENT, utf8(f.comment))] : []),
    ]),
  )
}

/** The whole file: header, interface, secrets (before the packets that need them), packets in order. */
export function pcapng(input: PcapngInput): Uint8Array {
  const parts = [sectionHeader(input.application), interfaceDescription(input.interfaceName)]
  if (input.tlsKeyLog && input.tlsKeyLog.length > 0) parts.push(decryptionSecrets(input.tlsKeyLog))
  for (const f of input.frames) parts.push(enhancedPacket(f))
  return concat(parts)
}

/** What a reader needs back from a file this module wrote (tests, the dashboard's summary). */
export interface PcapngSummary {
  readonly frames: readonly {
    readonly timeMs: number
    readonly bytes: Uint8Array
    readonly comment?: string
  }[]
  readonly tlsKeyLog: readonly string[]
}

/**
 * Reads the blocks back (little-endian sections only): for round-trip tests, and to refuse a truncated or
 * foreign file with a message rather than a crash.
 */
export function readPcapng(bytes: Uint8Array): PcapngSummary {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const frames: { timeMs: number; bytes: Uint8Array; comment?: string }[] = []
  const keylog: string[] = []
  let at = 0
  while (at < bytes.length) {
    if (at + 12 > bytes.length) throw bad(`truncated block at offset ${at}`, at)
    const type = view.getUint32(at, true)
    const total = view.getUint32(at + 4, true)
    if (total < 12 || total % 4 !== 0 || at + total > bytes.length)
      throw bad(`block at offset ${at} has a bad length ${total}`, at)
    if (view.getUint32(at + total - 4, true) !== total)
      throw bad(`block at offset ${at}: its trailing length differs`, at)
    if (at === 0 && (type !== SHB || view.getUint32(8, true) !== BYTE_ORDER_MAGIC))
      throw bad('not a little-endian pcapng file', 0)
    const body = bytes.subarray(at + 8, at + total - 4)
    if (type === EPB) frames.push(readPacket(body, at))
    if (type === DSB) {
      if (body.length < 8) throw bad('a secrets block is shorter than its header', at)
      const len = Math.min(new DataView(body.buffer, body.byteOffset).getUint32(4, true), body.length - 8)
      keylog.push(
        ...new TextDecoder()
          .decode(body.subarray(8, 8 + len))
          .split('\n')
          .filter(Boolean),
      )
    }
    at += total
  }
  return { frames, tlsKeyLog: keylog }
}

const bad = (message: string, offset: number): LabDecodeError =>
  new LabDecodeError('LAB_ERR_PCAPNG_DECODE', `Failed to read the pcapng file: ${message}.`, offset)

function readPacket(body: Uint8Array, at0: number): { timeMs: number; bytes: Uint8Array; comment?: string } {
  if (body.length < 20) throw bad('a packet block is shorter than its header', at0)
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const micros = (BigInt(v.getUint32(4, true)) << 32n) | BigInt(v.getUint32(8, true))
  const len = v.getUint32(12, true)
  if (20 + len > body.length) throw bad('a packet block is shorter than its captured length', at0)
  let at = 20 + len + pad4(len)
  let comment: string | undefined
  while (at + 4 <= body.length) {
    const code = v.getUint16(at, true)
    const olen = v.getUint16(at + 2, true)
    if (code === OPT_ENDOFOPT) break
    if (code === OPT_COMMENT) comment = new TextDecoder().decode(body.subarray(at + 4, at + 4 + olen))
    at += 4 + olen + pad4(olen)
  }
  return { timeMs: Number(micros) / 1000, bytes: body.slice(20, 20 + len), ...(comment ? { comment } : {}) }
}
