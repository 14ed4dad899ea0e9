import { LabDecodeError } from './errors.js'

/**
 * A small DER codec (ITU-T X.690) for the ASN.1 protocols the lab speaks itself (Kerberos, SPNEGO): pure,
 * bounded (length, depth), single-octet tags only (what RFC 4120 and RFC 4178 use). Encoding builds byte
 * arrays from nested calls; decoding gives nodes with accessors that throw a LabDecodeError on anything
 * malformed or missing.
 */

export const DerTag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  enumerated: 0x0a,
  sequence: 0x30,
  generalizedTime: 0x18,
  generalString: 0x1b,
} as const

const MAX_DEPTH = 32

function fail(message: string, offset: number): never {
  throw new LabDecodeError('LAB_ERR_DER_DECODE', `Failed to decode DER: ${message}.`, offset)
}

// ------------------------------------------------------------------------------------------- encoding

function lengthOctets(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n)
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Uint8Array.of(0x80 | bytes.length, ...bytes)
}

export function tlv(tag: number, value: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.of(tag), lengthOctets(value.length), value])
}

export const sequence = (...items: (Uint8Array | undefined)[]): Uint8Array =>
  tlv(DerTag.sequence, Buffer.concat(items.filter((i): i is Uint8Array => i !== undefined)))
/** [n] EXPLICIT: a context-specific constructed wrapper. */
export const context = (n: number, inner: Uint8Array | undefined): Uint8Array | undefined =>
  inner === undefined ? undefined : tlv(0xa0 | n, inner)
/** [APPLICATION n] (constructed). */
export const application = (n: number, inner: Uint8Array): Uint8Array => tlv(0x60 | n, inner)

export function integer(n: number | bigint): Uint8Array {
  let v = BigInt(n)
  const bytes: number[] = []
  for (;;) {
    bytes.unshift(Number(v & 0xffn))
    v >>= 8n
    const sign = bytes[0]! & 0x80
    if ((v === 0n && !sign) || (v === -1n && sign)) break
  }
  return tlv(DerTag.integer, Uint8Array.from(bytes))
}

export const octetString = (b: Uint8Array): Uint8Array => tlv(DerTag.octetString, b)
export const generalString = (s: string): Uint8Array => tlv(DerTag.generalString, Buffer.from(s, 'utf8'))
export const oid = (encoded: Uint8Array): Uint8Array => tlv(DerTag.oid, encoded)
export const enumerated = (n: number): Uint8Array => {
  const i = integer(n)
  return tlv(DerTag.enumerated, i.subarray(2))
}

/** KerberosTime: GeneralizedTime with whole seconds and Z (RFC 4120 §5.2.3). */
export function generalizedTime(ms: number): Uint8Array {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString() // 2026-11-29T03:40:00.000Z
  const text = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z'
  return tlv(DerTag.generalizedTime, Buffer.from(text, 'latin1'))
}

/** A 32-bit BIT STRING (Kerberos flags: bit 0 is the most significant). */
export function bitString32(flags: number): Uint8Array {
  const b = Buffer.alloc(5)
  b.writeUInt32BE(flags >>> 0, 1)
  return tlv(DerTag.bitString, b)
}

// ------------------------------------------------------------------------------------------- decoding

export class DerNode {
  constructor(
    readonly tag: number,
    readonly value: Uint8Array,
    /** The whole TLV, as received (checksums are computed over encodings). */
    readonly raw: Uint8Array,
    readonly offset: number,
    readonly depth: number,
  ) {}

  get constructed(): boolean {
    return (this.tag & 0x20) !== 0
  }

  /** The nodes inside a constructed one. */
  children(): DerNode[] {
    if (!this.constructed) fail(`tag 0x${this.tag.toString(16)} is not constructed`, this.offset)
    if (this.depth >= MAX_DEPTH) fail('nested too deep', this.offset)
    const out: DerNode[] = []
    let at = 0
    while (at < this.value.length) {
      const n = readNode(this.value, at, this.offset + (this.raw.length - this.value.length), this.depth + 1)
      out.push(n.node)
      at = n.next
    }
    return out
  }

  /** This node, which must carry `tag`. */
  expect(tag: number, what: string): DerNode {
    if (this.tag !== tag)
      fail(`${what}: tag 0x${this.tag.toString(16)}, expected 0x${tag.toString(16)}`, this.offset)
    return this
  }

  /** The inner node of an [APPLICATION n] wrapper. */
  application(n: number, what: string): DerNode {
    return this.expect(0x60 | n, what).only(what)
  }

  only(what: string): DerNode {
    const c = this.children()
    if (c.length !== 1) fail(`${what}: ${c.length} elements inside a wrapper`, this.offset)
    return c[0]!
  }

  /** The element [n] of a SEQUENCE (unwrapped), or undefined. */
  optional(n: number): DerNode | undefined {
    const hit = this.expect(DerTag.sequence, `field [${n}]`)
      .children()
      .find((c) => c.tag === (0xa0 | n))
    return hit?.only(`field [${n}]`)
  }

  field(n: number, what: string): DerNode {
    const f = this.optional(n)
    if (!f) fail(`${what} ([${n}]) is missing`, this.offset)
    return f
  }

  int(what: string): number {
    const v = this.expect(DerTag.integer, what).value
    if (v.length === 0 || v.length > 6) fail(`${what}: an INTEGER of ${v.length} octets`, this.offset)
    // Two's complement: a negative number starts from -1 (all ones) and shifts its octets in.
    let n = v[0]! & 0x80 ? -1 : 0
    for (const b of v) n = n * 256 + b
    return n
  }

  bytes(what: string): Uint8Array {
    return this.expect(DerTag.octetString, what).value
  }

  string(what: string): string {
    if (this.tag !== DerTag.generalString && this.tag !== 0x0c && this.tag !== 0x16)
      fail(`${what}: tag 0x${this.tag.toString(16)} is not a string`, this.offset)
    return Buffer.from(this.value).toString('utf8')
  }

  /** A GeneralizedTime as ms since the epoch. */
  time(what: string): number {
    const text = Buffer.from(this.expect(DerTag.generalizedTime, what).value).toString('latin1')
    const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(text)
    if (!m) fail(`${what}: "${text}" is not a KerberosTime`, this.offset)
    const [y, mo, d, hh, mm, ss] = m.slice(1).map(Number) as [number, number, number, number, number, number]
    return Date.UTC(y, mo - 1, d, hh, mm, ss)
  }

  /** A BIT STRING of up to 32 bits as a number (bit 0 the most significant). */
  bits32(what: string): number {
    const v = this.expect(DerTag.bitString, what).value
    if (v.length < 1 || v.length > 5) fail(`${what}: a BIT STRING of ${v.length} octets`, this.offset)
    const b = Buffer.alloc(4)
    Buffer.from(v.subarray(1)).copy(b)
    return b.readUInt32BE(0)
  }

  items(what: string): DerNode[] {
    return this.expect(DerTag.sequence, what).children()
  }
}

function readNode(buf: Uint8Array, at: number, base: number, depth: number): { node: DerNode; next: number } {
  if (at + 2 > buf.length) fail('truncated header', base + at)
  const tag = buf[at]!
  if ((tag & 0x1f) === 0x1f) fail('multi-octet tags are not used here', base + at)
  let len = buf[at + 1]!
  let start = at + 2
  if (len & 0x80) {
    const count = len & 0x7f
    if (count === 0 || count > 4) fail(`a length of ${count} octets`, base + at)
    if (start + count > buf.length) fail('truncated length', base + at)
    len = 0
    for (let i = 0; i < count; i++) len = len * 256 + buf[start + i]!
    start += count
  }
  if (start + len > buf.length) fail(`a value of ${len} octets runs past the end`, base + at)
  const raw = buf.subarray(at, start + len)
  return {
    node: new DerNode(tag, buf.subarray(start, start + len), raw, base + at, depth),
    next: start + len,
  }
}

/** The one DER element of `buf` (trailing octets are an error). */
export function parseDer(buf: Uint8Array): DerNode {
  const { node, next } = readNode(buf, 0, 0, 0)
  if (next !== buf.length) fail(`${buf.length - next} octets after the element`, next)
  return node
}

/** The first DER element of `buf` and what follows it (GSS-API tokens carry a mechanism then a message). */
export function readDer(buf: Uint8Array, at = 0): { node: DerNode; next: number } {
  return readNode(buf, at, 0, 0)
}
