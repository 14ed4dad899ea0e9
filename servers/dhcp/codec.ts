import { LabDecodeError } from '../../core/errors.js'

/**
 * DHCPv4 (RFC 2131 BOOTP header, RFC 2132 options, RFC 3396 long options, option overload 52, RFC 3397
 * domain search), pure. Options are kept as raw bytes by code (a scenario may send deliberately malformed
 * ones); typed helpers read and write the ones the lab knows.
 */

export const DHCP_MAGIC = 0x63825363
export const BOOTP_HEADER = 236
export const BOOTP_MIN_SIZE = 300

export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const
export type DhcpMessageTypeName = keyof typeof DhcpMessageType
const TYPE_NAMES = new Map<number, DhcpMessageTypeName>(
  Object.entries(DhcpMessageType).map(([k, v]) => [v, k as DhcpMessageTypeName]),
)
export function messageTypeName(code: number | undefined): string {
  return code === undefined ? 'BOOTP' : (TYPE_NAMES.get(code) ?? `type ${code}`)
}

export const Opt = {
  pad: 0,
  subnetMask: 1,
  router: 3,
  dns: 6,
  hostName: 12,
  domainName: 15,
  broadcast: 28,
  ntp: 42,
  wins: 44,
  nodeType: 46,
  requestedAddress: 50,
  leaseTime: 51,
  overload: 52,
  messageType: 53,
  serverId: 54,
  parameterList: 55,
  message: 56,
  maxMessageSize: 57,
  renewalTime: 58,
  rebindingTime: 59,
  vendorClass: 60,
  clientId: 61,
  domainSearch: 119,
  end: 255,
} as const

export interface DhcpMessage {
  readonly op: number
  readonly htype: number
  readonly hlen: number
  readonly hops: number
  readonly xid: number
  readonly secs: number
  readonly flags: number
  readonly ciaddr: string
  readonly yiaddr: string
  readonly siaddr: string
  readonly giaddr: string
  /** The client hardware address, `hlen` octets (a MAC: aa:bb:cc:dd:ee:ff). */
  readonly chaddr: string
  readonly sname: string
  readonly file: string
  /** Option code → value; several instances of a code are joined (RFC 3396). */
  readonly options: ReadonlyMap<number, Uint8Array>
}

function fail(message: string, offset: number): never {
  throw new LabDecodeError('LAB_ERR_DHCP_DECODE', `Failed to decode DHCP: ${message}.`, offset)
}

export function ipText(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`
}

export function ipBytes(ip: string): Uint8Array {
  const p = ip.split('.').map(Number)
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
    throw new RangeError(`"${ip}" is not an IPv4 address`)
  return Uint8Array.from(p)
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0)
  return Buffer.from(end < 0 ? b : b.subarray(0, end)).toString('latin1')
}

/** Reads the options in one area into `out`, concatenating repeats; returns the overload value seen, if any. */
function readOptions(buf: Uint8Array, start: number, end: number, out: Map<number, Uint8Array>): void {
  let p = start
  while (p < end) {
    const code = buf[p]!
    if (code === Opt.pad) {
      p++
      continue
    }
    if (code === Opt.end) return
    if (p + 1 >= end) fail(`option ${code} has no length`, p)
    const len = buf[p + 1]!
    if (p + 2 + len > end) fail(`option ${code} of ${len} octets runs past its area`, p)
    const value = buf.subarray(p + 2, p + 2 + len)
    const prior = out.get(code)
    out.set(code, prior ? Uint8Array.from([...prior, ...value]) : Uint8Array.from(value))
    p += 2 + len
  }
}

/** Decodes one BOOTP/DHCP message; throws LabDecodeError (LAB_ERR_DHCP_DECODE) on anything malformed. */
/**
 * The client's hardware address of a BOOTP message, read without decoding the rest (for filing a datagram
 * under its device before it is handled): an Ethernet chaddr (htype 1, hlen 6), else undefined.
 */
export function peekChaddr(buf: Uint8Array): string | undefined {
  if (buf.length < 236 || buf[1] !== 1 || buf[2] !== 6) return undefined
  return [...buf.subarray(28, 34)].map((b) => b.toString(16).padStart(2, '0')).join(':')
}

export function decodeDhcp(buf: Uint8Array): DhcpMessage {
  if (buf.length < BOOTP_HEADER + 4)
    fail(`${buf.length} octets is shorter than the BOOTP header and cookie`, 0)
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  if (dv.getUint32(BOOTP_HEADER) !== DHCP_MAGIC) fail('no DHCP magic cookie', BOOTP_HEADER)
  const op = buf[0]!
  if (op !== 1 && op !== 2) fail(`op ${op}`, 0)
  const hlen = buf[2]!
  if (hlen > 16) fail(`hlen ${hlen} is over 16`, 2)
  const options = new Map<number, Uint8Array>()
  readOptions(buf, BOOTP_HEADER + 4, buf.length, options)
  const overload = options.get(Opt.overload)?.[0]
  // RFC 2131 §4.1: with option 52, the file and/or sname fields hold options too, read after the main area.
  if (overload === 1 || overload === 3) readOptions(buf, 108, 236, options)
  if (overload === 2 || overload === 3) readOptions(buf, 44, 108, options)
  const chaddr = Array.from(buf.subarray(28, 28 + hlen), (b) => b.toString(16).padStart(2, '0')).join(':')
  return {
    op,
    htype: buf[1]!,
    hlen,
    hops: buf[3]!,
    xid: dv.getUint32(4),
    secs: dv.getUint16(8),
    flags: dv.getUint16(10),
    ciaddr: ipText(buf, 12),
    yiaddr: ipText(buf, 16),
    siaddr: ipText(buf, 20),
    giaddr: ipText(buf, 24),
    chaddr,
    sname: overload === 2 || overload === 3 ? '' : cString(buf.subarray(44, 108)),
    file: overload === 1 || overload === 3 ? '' : cString(buf.subarray(108, 236)),
    options,
  }
}

/** Writes one option, split into several instances when longer than 255 octets (RFC 3396 §5). */
function writeOption(out: number[], code: number, value: Uint8Array): void {
  if (value.length === 0) {
    out.push(code, 0)
    return
  }
  for (let i = 0; i < value.length; i += 255) {
    const part = value.subarray(i, i + 255)
    out.push(code, part.length, ...part)
  }
}

export interface EncodeOptions {
  /** The most octets the message may take (option 57, at least 576 − 28 for IP and UDP headers). */
  readonly maxSize?: number
}

/**
 * Encodes a message: options in map order (53 first if present), RFC 3396 splits, END, then padding to
 * the 300-octet BOOTP minimum. Options that would push the message past `maxSize` are left out, last first.
 */
export function encodeDhcp(m: DhcpMessage, options: EncodeOptions = {}): Uint8Array {
  const head = new Uint8Array(BOOTP_HEADER + 4)
  const dv = new DataView(head.buffer)
  head[0] = m.op
  head[1] = m.htype
  head[2] = m.hlen
  head[3] = m.hops
  dv.setUint32(4, m.xid >>> 0)
  dv.setUint16(8, m.secs)
  dv.setUint16(10, m.flags)
  head.set(ipBytes(m.ciaddr), 12)
  head.set(ipBytes(m.yiaddr), 16)
  head.set(ipBytes(m.siaddr), 20)
  head.set(ipBytes(m.giaddr), 24)
  const mac = m.chaddr === '' ? [] : m.chaddr.split(':').map((h) => parseInt(h, 16))
  head.set(mac.slice(0, 16), 28)
  head.set(Buffer.from(m.sname, 'latin1').subarray(0, 63), 44)
  head.set(Buffer.from(m.file, 'latin1').subarray(0, 127), 108)
  dv.setUint32(BOOTP_HEADER, DHCP_MAGIC)
  const codes = [...m.options.keys()].sort((a, b) =>
    a === Opt.messageType ? -1 : b === Opt.messageType ? 1 : 0,
  )
  const limit = options.maxSize ?? Infinity
  let body: number[] = []
  for (let n = codes.length; n >= 0; n--) {
    body = []
    for (const code of codes.slice(0, n)) writeOption(body, code, m.options.get(code)!)
    body.push(Opt.end)
    if (head.length + body.length <= limit) break
  }
  const total = Math.max(head.length + body.length, BOOTP_MIN_SIZE)
  const out = new Uint8Array(total)
  out.set(head)
  out.set(body, head.length)
  return out
}

// ---------------------------------------------------------------------------------------- typed options

export function u32Option(v: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, v >>> 0)
  return b
}

export function readU32(b: Uint8Array | undefined): number | undefined {
  return b && b.length === 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0) : undefined
}

export function readU16(b: Uint8Array | undefined): number | undefined {
  return b && b.length === 2 ? (b[0]! << 8) | b[1]! : undefined
}

export function ipsOption(ips: readonly string[]): Uint8Array {
  const out = new Uint8Array(ips.length * 4)
  ips.forEach((ip, i) => out.set(ipBytes(ip), i * 4))
  return out
}

export function readIps(b: Uint8Array | undefined): string[] {
  if (!b || b.length % 4 !== 0) return []
  const out: string[] = []
  for (let i = 0; i < b.length; i += 4) out.push(ipText(b, i))
  return out
}

export function textOption(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'))
}

/**
 * Option 119 as RFC 3397 wants it: DNS names in wire form, later names compressed against earlier ones
 * (pointers count from the start of the option data).
 */
export function encodeSearchList(names: readonly string[]): Uint8Array {
  const out: number[] = []
  const seen = new Map<string, number>()
  for (const name of names) {
    const labels = name.replace(/\.$/, '').split('.').filter(Boolean)
    let done = false
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase()
      const at = seen.get(suffix)
      if (at !== undefined) {
        out.push(0xc0 | (at >> 8), at & 0xff)
        done = true
        break
      }
      if (out.length < 0x3fff) seen.set(suffix, out.length)
      const bytes = Buffer.from(labels[i]!, 'latin1')
      if (bytes.length > 63) throw new RangeError(`"${name}" has a label longer than 63 octets`)
      out.push(bytes.length, ...bytes)
    }
    if (!done) out.push(0)
  }
  return Uint8Array.from(out)
}

/** Reads RFC 3397 option data back into names; throws LabDecodeError on loops or bad pointers. */
export function decodeSearchList(b: Uint8Array): string[] {
  const names: string[] = []
  let p = 0
  while (p < b.length) {
    const labels: string[] = []
    let q = p
    let next = -1
    for (let hops = 0; ; hops++) {
      if (q >= b.length) fail('a search-list name runs past the option', q)
      const len = b[q]!
      if (len === 0) {
        if (next < 0) next = q + 1
        break
      }
      if ((len & 0xc0) === 0xc0) {
        if (q + 1 >= b.length) fail('a search-list pointer is cut off', q)
        const target = ((len & 0x3f) << 8) | b[q + 1]!
        if (target >= q || hops > 127) fail('a search-list pointer does not point backwards', q)
        if (next < 0) next = q + 2
        q = target
        continue
      }
      if (len > 63) fail(`a search-list label of ${len} octets`, q)
      if (q + 1 + len > b.length) fail('a search-list label runs past the option', q)
      labels.push(Buffer.from(b.subarray(q + 1, q + 1 + len)).toString('latin1'))
      q += 1 + len
    }
    names.push(labels.join('.'))
    p = next
  }
  return names
}

/** A client message (op 1, Ethernet) of the given type; what a phone, a relay or the rogue probe sends. */
export function clientMessage(
  type: number,
  mac: string,
  options: readonly (readonly [number, Uint8Array])[] = [],
  over: Partial<DhcpMessage> = {},
): DhcpMessage {
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: mac,
    sname: '',
    file: '',
    options: new Map([[Opt.messageType, Uint8Array.of(type)], ...options]),
    ...over,
  }
}
