import { LabDecodeError } from '../../core/errors.js'

/**
 * DNS wire format (RFC 1035, 2782 SRV, 3596 AAAA, 6891 EDNS(0)), pure: no sockets, timers or logs.
 *
 * Decoding is strict: every read is bounds-checked, a compression pointer must point strictly backwards
 * (so loops are impossible) and inside the message, names are at most 255 octets, and the reserved label
 * types 0x40/0x80 are errors. Encoding compresses owner names and the names inside NS, CNAME, PTR, SOA and
 * MX data, but never an SRV target (RFC 2782: "name compression is not to be used for this field").
 */

export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const

export const DnsRcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const

export const DNS_CLASS_IN = 1
export const DNS_HEADER_LENGTH = 12

const TYPE_NAMES = new Map<number, string>(Object.entries(DnsType).map(([k, v]) => [v, k]))
const RCODE_NAMES = new Map<number, string>(Object.entries(DnsRcode).map(([k, v]) => [v, k]))

/** `SRV` for 33, `TYPE65` for a type without a name (RFC 3597 style). */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`
}
export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`
}
/** 33 for `SRV` or `srv`, 65 for `TYPE65`; undefined for anything else. */
export function typeCode(name: string): number | undefined {
  const upper = name.toUpperCase()
  const known = (DnsType as Record<string, number>)[upper]
  if (known !== undefined) return known
  const m = /^TYPE(\d{1,5})$/.exec(upper)
  return m && Number(m[1]) <= 0xffff ? Number(m[1]) : undefined
}

export interface DnsQuestion {
  readonly name: string
  readonly type: number
  readonly class: number
}

interface RecordBase {
  readonly name: string
  readonly class: number
  readonly ttl: number
}
export type DnsRecord =
  | (RecordBase & { readonly type: 'A' | 'AAAA'; readonly address: string })
  | (RecordBase & { readonly type: 'NS' | 'CNAME' | 'PTR'; readonly target: string })
  | (RecordBase & {
      readonly type: 'SRV'
      readonly priority: number
      readonly weight: number
      readonly port: number
      readonly target: string
    })
  | (RecordBase & { readonly type: 'MX'; readonly preference: number; readonly exchange: string })
  | (RecordBase & {
      readonly type: 'SOA'
      readonly mname: string
      readonly rname: string
      readonly serial: number
      readonly refresh: number
      readonly retry: number
      readonly expire: number
      readonly minimum: number
    })
  | (RecordBase & { readonly type: 'TXT'; readonly texts: readonly string[] })
  /** Any other type, kept as opaque bytes (RFC 3597). */
  | (RecordBase & { readonly type: 'RAW'; readonly code: number; readonly rdata: Uint8Array })

export interface EdnsOption {
  readonly code: number
  readonly data: Uint8Array
}
/** The EDNS(0) OPT pseudo-record, lifted out of the additional section. */
export interface Edns {
  readonly udpSize: number
  /** The upper 8 bits of the 12-bit rcode. */
  readonly extendedRcode: number
  readonly version: number
  readonly dnssecOk: boolean
  readonly options: readonly EdnsOption[]
}

export interface DnsMessage {
  readonly id: number
  readonly qr: boolean
  readonly opcode: number
  readonly aa: boolean
  readonly tc: boolean
  readonly rd: boolean
  readonly ra: boolean
  readonly ad: boolean
  readonly cd: boolean
  /** The full rcode: the header's 4 bits plus, with EDNS, the OPT record's upper 8 bits. */
  readonly rcode: number
  readonly questions: readonly DnsQuestion[]
  readonly answers: readonly DnsRecord[]
  readonly authorities: readonly DnsRecord[]
  readonly additionals: readonly DnsRecord[]
  readonly edns?: Edns
}

/** The numeric type of a record. */
export function recordType(r: DnsRecord): number {
  return r.type === 'RAW' ? r.code : DnsType[r.type]
}

function fail(message: string, offset: number): never {
  throw new LabDecodeError('LAB_ERR_DNS_DECODE', `Failed to decode DNS: ${message}.`, offset)
}

/** Presentation form of one label: printable ASCII as is, `.` `\` and the rest escaped (RFC 4343 §2.1). */
function labelText(buf: Uint8Array, start: number, length: number): string {
  let s = ''
  for (let i = start; i < start + length; i++) {
    const c = buf[i]!
    if (c === 0x2e || c === 0x5c) s += '\\' + String.fromCharCode(c)
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c)
    else s += '\\' + c.toString().padStart(3, '0')
  }
  return s
}

/** Reads a (possibly compressed) name at `offset`; returns it (no trailing dot; the root is '') and where the name ended. */
function readName(buf: Uint8Array, offset: number): { name: string; next: number } {
  const labels: string[] = []
  let pos = offset
  let next = -1
  let wire = 1 // the final zero octet
  for (;;) {
    if (pos >= buf.length) fail('a name runs past the end of the message', pos)
    const len = buf[pos]!
    if (len === 0) {
      if (next < 0) next = pos + 1
      break
    }
    const kind = len & 0xc0
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) fail('a compression pointer is cut off', pos)
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!
      // Strictly backwards from the pointer itself: no loop can form, and the target is inside the message.
      if (target >= pos) fail(`a compression pointer at ${pos} points forward to ${target}`, pos)
      if (next < 0) next = pos + 2
      pos = target
      continue
    }
    if (kind !== 0) fail(`label type 0x${kind.toString(16)} is reserved`, pos)
    if (pos + 1 + len > buf.length) fail('a label runs past the end of the message', pos)
    wire += len + 1
    if (wire > 255) fail('a name is longer than 255 octets', pos)
    labels.push(labelText(buf, pos + 1, len))
    pos += 1 + len
  }
  return { name: labels.join('.'), next }
}

function u16(buf: Uint8Array, at: number): number {
  if (at + 2 > buf.length) fail('the message ends inside a 16-bit field', at)
  return (buf[at]! << 8) | buf[at + 1]!
}
function u32(buf: Uint8Array, at: number): number {
  if (at + 4 > buf.length) fail('the message ends inside a 32-bit field', at)
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0
}

function ipv6Text(b: Uint8Array): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16))
  return groups
    .join(':')
    .replace(/(^|:)0(:0)+(:|$)/, '::')
    .replace(/:{3,}/, '::')
}

/** One record's rdata as a reader sees it: its octets' bounds, and checks that fail with the offset. */
interface Rdata {
  readonly buf: Uint8Array
  readonly type: number
  readonly start: number
  readonly end: number
  readonly base: { readonly name: string; readonly class: number; readonly ttl: number }
  /** Fails unless the rdata has at least `n` octets. */
  need(n: number): void
  /** A (possibly compressed) name in the rdata at `at`, failing if it runs past the rdata. */
  nameIn(at: number): { name: string; next: number }
}

const nameRecord =
  (type: 'NS' | 'CNAME' | 'PTR') =>
  (r: Rdata): DnsRecord => ({ ...r.base, type, target: r.nameIn(r.start).name })

/** The rdata readers of the types the lab knows (RFC 1035 §3.3, RFC 2782, RFC 3596); any other is RAW. */
const RDATA_READERS: ReadonlyMap<number, (r: Rdata) => DnsRecord> = new Map([
  [
    DnsType.A,
    (r: Rdata): DnsRecord => {
      if (r.end - r.start !== 4) fail(`A rdata is ${r.end - r.start} octets, not 4`, r.start)
      return { ...r.base, type: 'A', address: Array.from(r.buf.subarray(r.start, r.end)).join('.') }
    },
  ],
  [
    DnsType.AAAA,
    (r: Rdata): DnsRecord => {
      if (r.end - r.start !== 16) fail(`AAAA rdata is ${r.end - r.start} octets, not 16`, r.start)
      return { ...r.base, type: 'AAAA', address: ipv6Text(r.buf.subarray(r.start, r.end)) }
    },
  ],
  [DnsType.NS, nameRecord('NS')],
  [DnsType.CNAME, nameRecord('CNAME')],
  [DnsType.PTR, nameRecord('PTR')],
  [
    DnsType.SRV,
    (r: Rdata): DnsRecord => {
      r.need(7)
      const [priority, weight, port] = [u16(r.buf, r.start), u16(r.buf, r.start + 2), u16(r.buf, r.start + 4)]
      return { ...r.base, type: 'SRV', priority, weight, port, target: r.nameIn(r.start + 6).name }
    },
  ],
  [
    DnsType.MX,
    (r: Rdata): DnsRecord => {
      r.need(3)
      return { ...r.base, type: 'MX', preference: u16(r.buf, r.start), exchange: r.nameIn(r.start + 2).name }
    },
  ],
  [DnsType.SOA, readSoa],
  [DnsType.TXT, readTxt],
])

function readSoa(r: Rdata): DnsRecord {
  const m = r.nameIn(r.start)
  const n = r.nameIn(m.next)
  if (n.next + 20 > r.end) fail('SOA rdata is too short', n.next)
  const at = (k: number): number => u32(r.buf, n.next + 4 * k)
  return {
    ...r.base,
    type: 'SOA',
    mname: m.name,
    rname: n.name,
    serial: at(0),
    refresh: at(1),
    retry: at(2),
    expire: at(3),
    minimum: at(4),
  }
}

function readTxt(r: Rdata): DnsRecord {
  const texts: string[] = []
  let p = r.start
  while (p < r.end) {
    const len = r.buf[p]!
    if (p + 1 + len > r.end) fail('a TXT string runs past its rdlength', p)
    texts.push(Buffer.from(r.buf.subarray(p + 1, p + 1 + len)).toString('latin1'))
    p += 1 + len
  }
  return { ...r.base, type: 'TXT', texts }
}

function readRecord(
  buf: Uint8Array,
  offset: number,
): { record?: DnsRecord; opt?: { udpSize: number; ttl: number; rdata: Uint8Array }; next: number } {
  const { name, next: afterName } = readName(buf, offset)
  const type = u16(buf, afterName)
  const klass = u16(buf, afterName + 2)
  const ttl = u32(buf, afterName + 4)
  const rdlength = u16(buf, afterName + 8)
  const start = afterName + 10
  const end = start + rdlength
  if (end > buf.length) fail(`rdata of ${rdlength} octets runs past the end of the message`, start)
  const rdata = buf.subarray(start, end)
  if (type === DnsType.OPT) {
    if (name !== '') fail('the OPT record must be owned by the root', offset)
    return { opt: { udpSize: klass, ttl, rdata }, next: end }
  }
  const base = { name, class: klass, ttl }
  const reader = RDATA_READERS.get(type)
  if (!reader)
    return { record: { ...base, type: 'RAW', code: type, rdata: Uint8Array.from(rdata) }, next: end }
  const r: Rdata = {
    buf,
    type,
    start,
    end,
    base,
    need: (n) => {
      if (rdlength < n) fail(`${typeName(type)} rdata is ${rdlength} octets, needs ${n}`, start)
    },
    nameIn: (at) => {
      const read = readName(buf, at)
      if (read.next > end) fail(`a name in ${typeName(type)} rdata runs past its rdlength`, at)
      return read
    },
  }
  return { record: reader(r), next: end }
}

function decodeOptions(rdata: Uint8Array, at: number): EdnsOption[] {
  const out: EdnsOption[] = []
  let p = 0
  while (p < rdata.length) {
    if (p + 4 > rdata.length) fail('an EDNS option header is cut off', at + p)
    const code = (rdata[p]! << 8) | rdata[p + 1]!
    const len = (rdata[p + 2]! << 8) | rdata[p + 3]!
    if (p + 4 + len > rdata.length) fail('an EDNS option runs past the OPT rdata', at + p)
    out.push({ code, data: Uint8Array.from(rdata.subarray(p + 4, p + 4 + len)) })
    p += 4 + len
  }
  return out
}

/** Decodes one DNS message; throws LabDecodeError (LAB_ERR_DNS_DECODE) on anything malformed. */
export function decodeDns(buf: Uint8Array): DnsMessage {
  if (buf.length < DNS_HEADER_LENGTH) fail(`${buf.length} octets is shorter than the 12-octet header`, 0)
  const flags = u16(buf, 2)
  const counts = [u16(buf, 4), u16(buf, 6), u16(buf, 8), u16(buf, 10)] as const
  let pos = DNS_HEADER_LENGTH
  const questions: DnsQuestion[] = []
  for (let i = 0; i < counts[0]; i++) {
    const { name, next } = readName(buf, pos)
    questions.push({ name, type: u16(buf, next), class: u16(buf, next + 2) })
    pos = next + 4
  }
  const sections: DnsRecord[][] = [[], [], []]
  let edns: Edns | undefined
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const at = pos
      const r = readRecord(buf, pos)
      pos = r.next
      if (r.opt) {
        if (s !== 2) fail('an OPT record outside the additional section', at)
        if (edns) fail('more than one OPT record', at)
        edns = {
          udpSize: r.opt.udpSize,
          extendedRcode: r.opt.ttl >>> 24,
          version: (r.opt.ttl >>> 16) & 0xff,
          dnssecOk: (r.opt.ttl & 0x8000) !== 0,
          options: decodeOptions(r.opt.rdata, at),
        }
      } else if (r.record) sections[s]!.push(r.record)
    }
  }
  if (pos !== buf.length) fail(`${buf.length - pos} octets after the last record`, pos)
  return {
    id: u16(buf, 0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >>> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: ((edns?.extendedRcode ?? 0) << 4) | (flags & 0xf),
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
    ...(edns ? { edns } : {}),
  }
}

/** The id of whatever arrived, when there are at least two octets (so even a FORMERR can name the query). */
export function peekDnsId(buf: Uint8Array): number | undefined {
  return buf.length >= 2 ? (buf[0]! << 8) | buf[1]! : undefined
}

// ---------------------------------------------------------------------------------------------- encoding

/** Splits a presentation-form name into wire labels, honouring `\.` and `\DDD` escapes. */
export function nameLabels(name: string): Uint8Array[] {
  const trimmed = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name
  if (trimmed === '') return []
  const labels: Uint8Array[] = []
  let cur: number[] = []
  for (let i = 0; i < trimmed.length; i++) {
    const ch = trimmed.charCodeAt(i)
    if (ch === 0x5c) {
      const digits = /^\d{3}/.exec(trimmed.slice(i + 1))
      if (digits) {
        cur.push(Number(digits[0]) & 0xff)
        i += 3
      } else {
        cur.push(trimmed.charCodeAt(i + 1) & 0xff)
        i += 1
      }
    } else if (ch === 0x2e) {
      labels.push(Uint8Array.from(cur))
      cur = []
    } else cur.push(ch & 0xff)
  }
  labels.push(Uint8Array.from(cur))
  for (const l of labels) {
    if (l.length === 0 || l.length > 63)
      throw new RangeError(`"${name}" has a label of ${l.length} octets (1–63 allowed)`)
  }
  return labels
}

class Writer {
  buf: Uint8Array = new Uint8Array(512)
  length = 0
  /** lower-cased name suffix → offset where it was written */
  readonly names = new Map<string, number>()

  #room(n: number): void {
    if (this.length + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.length + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }
  u8(v: number): void {
    this.#room(1)
    this.buf[this.length++] = v & 0xff
  }
  u16(v: number): void {
    this.#room(2)
    this.buf[this.length++] = (v >>> 8) & 0xff
    this.buf[this.length++] = v & 0xff
  }
  u32(v: number): void {
    this.u16(v >>> 16)
    this.u16(v & 0xffff)
  }
  bytes(b: Uint8Array): void {
    this.#room(b.length)
    this.buf.set(b, this.length)
    this.length += b.length
  }
  setU16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff
    this.buf[at + 1] = v & 0xff
  }
  name(name: string, compress: boolean): void {
    const labels = nameLabels(name)
    const keys: string[] = []
    for (let i = 0; i < labels.length; i++) {
      keys.push(
        labels
          .slice(i)
          .map((l) => Buffer.from(l).toString('latin1').toLowerCase())
          .join('.'),
      )
    }
    for (let i = 0; i < labels.length; i++) {
      const known = compress ? this.names.get(keys[i]!) : undefined
      if (known !== undefined) {
        this.u16(0xc000 | known)
        return
      }
      if (this.length < 0x4000 && !this.names.has(keys[i]!)) this.names.set(keys[i]!, this.length)
      this.u8(labels[i]!.length)
      this.bytes(labels[i]!)
    }
    this.u8(0)
  }
}

function ipv4Bytes(address: string): Uint8Array {
  const parts = address.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new RangeError(`"${address}" is not an IPv4 address`)
  return Uint8Array.from(parts)
}

function ipv6Bytes(address: string): Uint8Array {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined]
  const h = head ? head.split(':') : []
  const t = tail !== undefined && tail !== '' ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g)))
    throw new RangeError(`"${address}" is not an IPv6 address`)
  const out = new Uint8Array(16)
  groups.forEach((g, i) => {
    const v = parseInt(g, 16)
    out[i * 2] = v >>> 8
    out[i * 2 + 1] = v & 0xff
  })
  return out
}

function writeRecord(w: Writer, r: DnsRecord): void {
  w.name(r.name, true)
  w.u16(recordType(r))
  w.u16(r.class)
  w.u32(r.ttl)
  const lengthAt = w.length
  w.u16(0)
  const start = w.length
  switch (r.type) {
    case 'A':
      w.bytes(ipv4Bytes(r.address))
      break
    case 'AAAA':
      w.bytes(ipv6Bytes(r.address))
      break
    case 'NS':
    case 'CNAME':
    case 'PTR':
      w.name(r.target, true)
      break
    case 'SRV':
      w.u16(r.priority)
      w.u16(r.weight)
      w.u16(r.port)
      w.name(r.target, false) // RFC 2782: never compressed
      break
    case 'MX':
      w.u16(r.preference)
      w.name(r.exchange, true)
      break
    case 'SOA':
      w.name(r.mname, true)
      w.name(r.rname, true)
      w.u32(r.serial)
      w.u32(r.refresh)
      w.u32(r.retry)
      w.u32(r.expire)
      w.u32(r.minimum)
      break
    case 'TXT':
      for (const t of r.texts) {
        const b = Buffer.from(t, 'latin1')
        for (let i = 0; i === 0 || i < b.length; i += 255) {
          const chunk = b.subarray(i, i + 255)
          w.u8(chunk.length)
          w.bytes(chunk)
        }
      }
      break
    case 'RAW':
      w.bytes(r.rdata)
      break
  }
  w.setU16(lengthAt, w.length - start)
}

function writeOpt(w: Writer, e: Edns): void {
  w.u8(0)
  w.u16(DnsType.OPT)
  w.u16(e.udpSize)
  w.u32(((e.extendedRcode & 0xff) << 24) | ((e.version & 0xff) << 16) | (e.dnssecOk ? 0x8000 : 0))
  const size = e.options.reduce((n, o) => n + 4 + o.data.length, 0)
  w.u16(size)
  for (const o of e.options) {
    w.u16(o.code)
    w.u16(o.data.length)
    w.bytes(o.data)
  }
}

function flagsOf(m: DnsMessage): number {
  return (
    (m.qr ? 0x8000 : 0) |
    ((m.opcode & 0xf) << 11) |
    (m.aa ? 0x0400 : 0) |
    (m.tc ? 0x0200 : 0) |
    (m.rd ? 0x0100 : 0) |
    (m.ra ? 0x0080 : 0) |
    (m.ad ? 0x0020 : 0) |
    (m.cd ? 0x0010 : 0) |
    (m.rcode & 0xf)
  )
}

export interface EncodeOptions {
  /**
   * The most octets the answer may take (the UDP limit). When the full message does not fit, the answer is
   * the header with TC set, the question and the OPT record: RFC 2181 §9 says a truncated answer must not
   * pretend to be complete, so no partial RRsets are kept.
   */
  readonly maxSize?: number
}

/** Encodes a message. Throws RangeError on values that cannot be encoded (a bad address, a 64-octet label). */
export function encodeDns(m: DnsMessage, options: EncodeOptions = {}): Uint8Array {
  const edns = m.edns && m.rcode > 0xf ? { ...m.edns, extendedRcode: m.rcode >>> 4 } : m.edns
  const w = new Writer()
  w.u16(m.id)
  w.u16(flagsOf(m))
  w.u16(m.questions.length)
  w.u16(m.answers.length)
  w.u16(m.authorities.length)
  w.u16(m.additionals.length + (edns ? 1 : 0))
  for (const q of m.questions) {
    w.name(q.name, true)
    w.u16(q.type)
    w.u16(q.class)
  }
  const questionEnd = w.length
  for (const r of m.answers) writeRecord(w, r)
  for (const r of m.authorities) writeRecord(w, r)
  for (const r of m.additionals) writeRecord(w, r)
  if (edns) writeOpt(w, edns)
  if (options.maxSize !== undefined && w.length > options.maxSize) {
    // Start again from the question: TC, no records but the OPT.
    w.length = questionEnd
    w.setU16(2, flagsOf(m) | 0x0200)
    w.setU16(6, 0)
    w.setU16(8, 0)
    w.setU16(10, edns ? 1 : 0)
    if (edns) writeOpt(w, edns)
  }
  return w.buf.slice(0, w.length)
}

/** One-line presentation of a record's data, as dig writes it: `10.0.0.1`, `0 100 5061 pool.contoso.test.` */
export function rdataText(r: DnsRecord): string {
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return r.address
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return `${r.target}.`
    case 'SRV':
      return `${r.priority} ${r.weight} ${r.port} ${r.target}.`
    case 'MX':
      return `${r.preference} ${r.exchange}.`
    case 'SOA':
      return `${r.mname}. ${r.rname}. ${r.serial} ${r.refresh} ${r.retry} ${r.expire} ${r.minimum}`
    case 'TXT':
      return r.texts.map((t) => JSON.stringify(t)).join(' ')
    case 'RAW':
      return `\\# ${r.rdata.length} ${Buffer.from(r.rdata).toString('hex')}`
  }
}

export function recordText(r: DnsRecord): string {
  return `${r.name}. ${r.ttl} ${r.type === 'RAW' ? typeName(r.code) : r.type} ${rdataText(r)}`
}

// ------------------------------------------------------------------------------------------ TCP framing

/**
 * Splits a TCP byte stream into DNS messages (RFC 1035 §4.2.2: each is preceded by a 16-bit length).
 * Pure: returns the complete frames and the bytes that still wait for the rest of a frame; an incomplete
 * frame is a return value, not an error. A zero-length frame is returned as an empty message (it decodes
 * to a FORMERR-worthy error, as any other malformed message).
 */
export function takeDnsFrames(stream: Uint8Array): { frames: Uint8Array[]; rest: Uint8Array } {
  const frames: Uint8Array[] = []
  let p = 0
  while (p + 2 <= stream.length) {
    const len = (stream[p]! << 8) | stream[p + 1]!
    if (p + 2 + len > stream.length) break
    frames.push(stream.subarray(p + 2, p + 2 + len))
    p += 2 + len
  }
  return { frames, rest: stream.subarray(p) }
}

/** A message with its 16-bit length prefix, for TCP. */
export function frameDns(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(message.length + 2)
  out[0] = message.length >>> 8
  out[1] = message.length & 0xff
  out.set(message, 2)
  return out
}

/** A query for one name and type (RD set); `edns` adds an OPT record advertising that UDP size. */
export function queryMessage(
  name: string,
  type: number,
  options: { id?: number; edns?: number } = {},
): DnsMessage {
  return {
    id: options.id ?? 0,
    qr: false,
    opcode: 0,
    aa: false,
    tc: false,
    rd: true,
    ra: false,
    ad: false,
    cd: false,
    rcode: 0,
    questions: [{ name, type, class: DNS_CLASS_IN }],
    answers: [],
    authorities: [],
    additionals: [],
    ...(options.edns !== undefined
      ? { edns: { udpSize: options.edns, extendedRcode: 0, version: 0, dnssecOk: false, options: [] } }
      : {}),
  }
}

/** Where a query's question ends (header + name + type + class), or -1 when the name is not a plain one. */
export function questionEnd(msg: Uint8Array): number {
  let p = DNS_HEADER_LENGTH
  while (p < msg.length) {
    const len = msg[p]!
    if (len === 0) return p + 5 <= msg.length ? p + 5 : -1
    if (len > 63) return -1
    p += len + 1
  }
  return -1
}

/**
 * The bytes of an encoded answer (encoded once, for any query) as this query gets them: its ID, its RD and CD bits, and its question as
 * asked (letter case included, as resolvers using 0x20 expect). Every answer goes through here, cached or
 * made for a fault, so that no resolver ever sees an answer with another query's ID.
 */
export function stampAnswer(
  encoded: Uint8Array,
  encodedQuestionEnd: number,
  query: DnsMessage,
  msg: Uint8Array,
): Buffer {
  const bytes = Buffer.allocUnsafe(encoded.length)
  bytes.set(encoded)
  bytes[0] = query.id >>> 8
  bytes[1] = query.id & 0xff
  bytes[2] = bytes[2]! | (query.rd ? 0x01 : 0)
  bytes[3] = bytes[3]! | (query.cd ? 0x10 : 0)
  if (questionEnd(msg) === encodedQuestionEnd)
    bytes.set(msg.subarray(DNS_HEADER_LENGTH, encodedQuestionEnd), DNS_HEADER_LENGTH)
  return bytes
}
