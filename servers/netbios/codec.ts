import { LabDecodeError } from '../../core/errors.js'

/**
 * NetBIOS name service packets (RFC 1002 §4.2), pure: the header, questions and resource records with
 * NetBIOS names in their first-level encoding (RFC 1001 §14.1: each of the 16 bytes as two letters
 * 'A'+nibble) and second-level encoding (DNS labels, with the scope; label pointers read as RFC 1002 allows).
 */

export const NbOpcode = {
  query: 0,
  registration: 5,
  release: 6,
  wack: 7,
  refresh: 8,
  refreshAlt: 9,
  multihomedRegistration: 15,
} as const

export const NbRcode = {
  ok: 0,
  FMT_ERR: 1,
  SRV_ERR: 2,
  NAM_ERR: 3,
  IMP_ERR: 4,
  RFS_ERR: 5,
  ACT_ERR: 6,
  CFT_ERR: 7,
} as const

export const NbType = { NB: 0x0020, NBSTAT: 0x0021, NULL: 0x000a } as const
export const NB_CLASS_IN = 0x0001

/** A NetBIOS name: up to 15 characters, the 16th byte its suffix (0x1C: domain controllers), and a scope. */
export interface NetbiosName {
  readonly name: string
  readonly suffix: number
  readonly scope: string
}

export interface NbQuestion {
  readonly name: NetbiosName
  readonly type: number
  readonly class: number
}

export interface NbResource {
  readonly name: NetbiosName
  readonly type: number
  readonly class: number
  readonly ttl: number
  readonly data: Uint8Array
}

export interface NbFlags {
  /** Authoritative answer, truncation, recursion desired / available, broadcast. */
  readonly aa: boolean
  readonly tc: boolean
  readonly rd: boolean
  readonly ra: boolean
  readonly broadcast: boolean
}

export interface NbPacket {
  readonly id: number
  readonly response: boolean
  readonly opcode: number
  readonly flags: NbFlags
  readonly rcode: number
  readonly questions: readonly NbQuestion[]
  readonly answers: readonly NbResource[]
  readonly authority: readonly NbResource[]
  readonly additional: readonly NbResource[]
}

/** One owner of a name in an NB resource's data (RFC 1002 §4.2.2: NB_FLAGS then NB_ADDRESS). */
export interface NbAddress {
  /** A group name (0x1C is one) rather than a unique one. */
  readonly group: boolean
  /** Owner node type: 0 B, 1 P, 2 M, 3 H (RFC 1002's ONT, with Microsoft's H). */
  readonly ont: number
  readonly address: string
}

/** At most this many records of each section: a name service datagram is small (RFC 1002 §4.2.1: 576 bytes). */
const MAX_RECORDS = 64

/** "CORP<1C>": how Microsoft's tools (nbtstat) and Samba's (nmblookup) write a name and its suffix. */
export function nameText(n: NetbiosName): string {
  const hex = n.suffix.toString(16).toUpperCase().padStart(2, '0')
  return `${n.name}<${hex}>${n.scope ? `.${n.scope}` : ''}`
}

/** Reads "CORP<1C>" or "CORP#1c" (nmblookup's form); a bare name means suffix 0x00. */
export function parseNameText(text: string): NetbiosName | undefined {
  const m = /^([^<#.]{1,15})(?:<([0-9a-f]{2})>|#([0-9a-f]{2}))?(?:\.(.+))?$/i.exec(text.trim())
  if (!m) return undefined
  const hex = m[2] ?? m[3] ?? '00'
  return { name: m[1]!.toUpperCase(), suffix: parseInt(hex, 16), scope: (m[4] ?? '').toLowerCase() }
}

function fail(message: string, offset: number): never {
  throw new LabDecodeError('LAB_ERR_NETBIOS_DECODE', `Failed to decode NetBIOS: ${message}.`, offset)
}

/** RFC 1001 §14.1 first-level encoding of a name padded with spaces to 15 bytes plus its suffix. */
export function encodeName(n: NetbiosName): Uint8Array {
  if (n.name.length > 15) throw new RangeError(`NetBIOS name "${n.name}" is longer than 15 characters`)
  const raw = Buffer.alloc(16, 0x20)
  raw.write(n.name.toUpperCase(), 0, 'latin1')
  raw[15] = n.suffix
  const first = Buffer.alloc(32)
  for (let i = 0; i < 16; i++) {
    first[2 * i] = 0x41 + (raw[i]! >> 4)
    first[2 * i + 1] = 0x41 + (raw[i]! & 0x0f)
  }
  const labels = [first, ...(n.scope ? n.scope.split('.').map((l) => Buffer.from(l, 'latin1')) : [])]
  const out: Buffer[] = []
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) throw new RangeError(`bad scope label in "${n.scope}"`)
    out.push(Buffer.of(l.length), l)
  }
  out.push(Buffer.of(0))
  return Buffer.concat(out)
}

/** The labels at `offset`, following pointers (at most 16 jumps); returns them and where the name ends. */
function readLabels(buf: Uint8Array, offset: number): { labels: Buffer[]; next: number } {
  const labels: Buffer[] = []
  let at = offset
  let next = -1
  for (let jumps = 0; ;) {
    if (at >= buf.length) fail('name runs past the end', at)
    const len = buf[at]!
    if (len === 0) {
      if (next < 0) next = at + 1
      break
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) fail('truncated label pointer', at)
      if (++jumps > 16) fail('label pointers loop', at)
      if (next < 0) next = at + 2
      at = ((len & 0x3f) << 8) | buf[at + 1]!
      continue
    }
    if (len > 63) fail(`label length ${len}`, at)
    if (at + 1 + len > buf.length) fail('label runs past the end', at)
    labels.push(Buffer.from(buf.subarray(at + 1, at + 1 + len)))
    at += 1 + len
  }
  return { labels, next }
}

export function decodeName(buf: Uint8Array, offset: number): { name: NetbiosName; next: number } {
  const { labels, next } = readLabels(buf, offset)
  const first = labels[0]
  if (!first || first.length !== 32) fail('the first label is not a 32-letter encoded name', offset)
  const raw = Buffer.alloc(16)
  for (let i = 0; i < 16; i++) {
    const hi = first[2 * i]! - 0x41
    const lo = first[2 * i + 1]! - 0x41
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) fail('a name letter outside A–P', offset)
    raw[i] = (hi << 4) | lo
  }
  const name = raw.subarray(0, 15).toString('latin1').replace(/ +$/, '')
  const scope = labels
    .slice(1)
    .map((l) => l.toString('latin1'))
    .join('.')
  return { name: { name, suffix: raw[15]!, scope }, next }
}

function u16(buf: Uint8Array, at: number): number {
  if (at + 2 > buf.length) fail('truncated', at)
  return (buf[at]! << 8) | buf[at + 1]!
}

function u32(buf: Uint8Array, at: number): number {
  return u16(buf, at) * 0x10000 + u16(buf, at + 2)
}

export function decodeNb(buf: Uint8Array): NbPacket {
  if (buf.length < 12) fail(`a header needs 12 bytes, got ${buf.length}`, 0)
  const id = u16(buf, 0)
  const bits = u16(buf, 2)
  const counts = [u16(buf, 4), u16(buf, 6), u16(buf, 8), u16(buf, 10)]
  if (counts.some((c) => c > MAX_RECORDS)) fail(`a section of more than ${MAX_RECORDS} records`, 4)
  let at = 12
  const questions: NbQuestion[] = []
  for (let i = 0; i < counts[0]!; i++) {
    const { name, next } = decodeName(buf, at)
    questions.push({ name, type: u16(buf, next), class: u16(buf, next + 2) })
    at = next + 4
  }
  const section = (count: number): NbResource[] => {
    const out: NbResource[] = []
    for (let i = 0; i < count; i++) {
      const { name, next } = decodeName(buf, at)
      const length = u16(buf, next + 8)
      const start = next + 10
      if (start + length > buf.length) fail('record data runs past the end', next + 8)
      out.push({
        name,
        type: u16(buf, next),
        class: u16(buf, next + 2),
        ttl: u32(buf, next + 4),
        data: Uint8Array.from(buf.subarray(start, start + length)),
      })
      at = start + length
    }
    return out
  }
  const answers = section(counts[1]!)
  const authority = section(counts[2]!)
  const additional = section(counts[3]!)
  return {
    id,
    response: (bits & 0x8000) !== 0,
    opcode: (bits >> 11) & 0x0f,
    flags: {
      aa: (bits & 0x0400) !== 0,
      tc: (bits & 0x0200) !== 0,
      rd: (bits & 0x0100) !== 0,
      ra: (bits & 0x0080) !== 0,
      broadcast: (bits & 0x0010) !== 0,
    },
    rcode: bits & 0x000f,
    questions,
    answers,
    authority,
    additional,
  }
}

export function encodeNb(p: NbPacket): Uint8Array {
  const header = Buffer.alloc(12)
  header.writeUInt16BE(p.id, 0)
  const f = p.flags
  const bits =
    (p.response ? 0x8000 : 0) |
    ((p.opcode & 0x0f) << 11) |
    (f.aa ? 0x0400 : 0) |
    (f.tc ? 0x0200 : 0) |
    (f.rd ? 0x0100 : 0) |
    (f.ra ? 0x0080 : 0) |
    (f.broadcast ? 0x0010 : 0) |
    (p.rcode & 0x0f)
  header.writeUInt16BE(bits, 2)
  header.writeUInt16BE(p.questions.length, 4)
  header.writeUInt16BE(p.answers.length, 6)
  header.writeUInt16BE(p.authority.length, 8)
  header.writeUInt16BE(p.additional.length, 10)
  const parts: Uint8Array[] = [header]
  for (const q of p.questions) {
    const tail = Buffer.alloc(4)
    tail.writeUInt16BE(q.type, 0)
    tail.writeUInt16BE(q.class, 2)
    parts.push(encodeName(q.name), tail)
  }
  for (const r of [...p.answers, ...p.authority, ...p.additional]) {
    const fixed = Buffer.alloc(10)
    fixed.writeUInt16BE(r.type, 0)
    fixed.writeUInt16BE(r.class, 2)
    fixed.writeUInt32BE(r.ttl >>> 0, 4)
    fixed.writeUInt16BE(r.data.length, 8)
    parts.push(encodeName(r.name), fixed, r.data)
  }
  return Buffer.concat(parts)
}

/** NB resource data: six bytes per owner (NB_FLAGS, then the IPv4 address). */
export function encodeNbAddresses(owners: readonly NbAddress[]): Uint8Array {
  const out = Buffer.alloc(6 * owners.length)
  owners.forEach((o, i) => {
    out.writeUInt16BE((o.group ? 0x8000 : 0) | ((o.ont & 3) << 13), 6 * i)
    const octets = o.address.split('.').map(Number)
    for (let k = 0; k < 4; k++) out[6 * i + 2 + k] = octets[k] ?? 0
  })
  return out
}

export function decodeNbAddresses(data: Uint8Array): NbAddress[] {
  if (data.length % 6 !== 0) fail(`NB data of ${data.length} bytes is not a multiple of 6`, 0)
  const out: NbAddress[] = []
  for (let at = 0; at < data.length; at += 6) {
    const flags = u16(data, at)
    out.push({
      group: (flags & 0x8000) !== 0,
      ont: (flags >> 13) & 3,
      address: [...data.subarray(at + 2, at + 6)].join('.'),
    })
  }
  return out
}
