import { LabDecodeError } from '../../core/errors.js'

/**
 * SIP messages (RFC 3261 §7) over a stream, pure: framing by Content-Length (split and pipelined messages,
 * CRLF keep-alives between them), header parsing with compact forms, folding and limits, and the MS-SIP
 * authentication parameters (`NTLM qop="auth", gssapi-data="…"`, MS-SIPAE). Bytes in, messages out; every
 * malformed input is a LabDecodeError (LAB_ERR_SIP_DECODE) saying what and where.
 */

export interface SipLimits {
  /** Octets of the start line and headers. */
  readonly headerBytes: number
  /** Octets of a body. */
  readonly bodyBytes: number
  /** Header fields. */
  readonly headers: number
}
export const SIP_LIMITS: SipLimits = { headerBytes: 16 * 1024, bodyBytes: 64 * 1024, headers: 100 }

export interface SipRequest {
  readonly kind: 'request'
  readonly method: string
  readonly uri: string
  readonly headers: SipHeaders
  readonly body: Buffer
}
export interface SipResponse {
  readonly kind: 'response'
  readonly status: number
  readonly reason: string
  readonly headers: SipHeaders
  readonly body: Buffer
}
export type SipMessage = SipRequest | SipResponse

/** Header fields in order, looked up case-insensitively and by compact form. */
export class SipHeaders {
  readonly #fields: [string, string][]
  constructor(fields: readonly (readonly [string, string])[] = []) {
    this.#fields = fields.map(([n, v]) => [n, v])
  }
  get entries(): readonly (readonly [string, string])[] {
    return this.#fields
  }
  /** Every value of a header (comma-separated values of one field are not split). */
  all(name: string): string[] {
    const want = canonical(name)
    return this.#fields.filter(([n]) => canonical(n) === want).map(([, v]) => v)
  }
  get(name: string): string | undefined {
    return this.all(name)[0]
  }
  add(name: string, value: string): this {
    this.#fields.push([name, value])
    return this
  }
  /** Replaces the first value of a header (no-op when there is none). */
  replaceFirst(name: string, value: string): this {
    const want = canonical(name)
    const field = this.#fields.find(([n]) => canonical(n) === want)
    if (field) field[1] = value
    return this
  }
}

const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
}
const canonical = (name: string): string => {
  const n = name.toLowerCase()
  return COMPACT[n] ?? n
}

const METHOD = /^[A-Za-z][A-Za-z0-9.!%*_+`'~-]*$/

function fail(message: string, offset: number): never {
  throw new LabDecodeError('LAB_ERR_SIP_DECODE', message, offset)
}

/** Parses the start line and headers of one message (without the blank line). */
export function parseHead(
  head: string,
  limits: SipLimits = SIP_LIMITS,
): Omit<SipRequest, 'body'> | Omit<SipResponse, 'body'> {
  const lines = head.split(/\r?\n/)
  const start = lines.shift() ?? ''
  const fields: [string, string][] = []
  for (const line of lines) {
    if (line === '') continue
    if (line[0] === ' ' || line[0] === '\t') {
      // Folded continuation of the previous field (RFC 3261 §7.3.1).
      const last = fields.at(-1)
      if (!last) fail('a continuation line before any header', 0)
      last[1] += ` ${line.trim()}`
      continue
    }
    const colon = line.indexOf(':')
    if (colon <= 0) fail(`a header line without a name and colon: ${JSON.stringify(line.slice(0, 60))}`, 0)
    const name = line.slice(0, colon).trim()
    if (!/^[A-Za-z0-9!%'*+._`~-]+$/.test(name))
      fail(`a header name with characters SIP does not allow: ${JSON.stringify(name.slice(0, 40))}`, 0)
    fields.push([name, line.slice(colon + 1).trim()])
    if (fields.length > limits.headers) fail(`more than ${limits.headers} header fields`, 0)
  }
  const headers = new SipHeaders(fields)
  if (start.startsWith('SIP/2.0 ')) {
    const m = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(start)
    if (!m) fail(`a malformed status line: ${JSON.stringify(start.slice(0, 60))}`, 0)
    return { kind: 'response', status: Number(m[1]), reason: m[2] ?? '', headers }
  }
  const parts = start.split(' ')
  if (parts.length !== 3 || parts[2] !== 'SIP/2.0' || !METHOD.test(parts[0]!) || parts[1] === '')
    fail(`a malformed request line: ${JSON.stringify(start.slice(0, 80))}`, 0)
  return { kind: 'request', method: parts[0]!, uri: parts[1]!, headers }
}

/**
 * Cuts a TCP/TLS byte stream into SIP messages. `push` returns the messages completed so far and keeps the
 * rest; bare CRLFs between messages are keep-alives (RFC 5626 §3.5.1): a double CRLF is a `ping`, a single
 * one the `pong` that answers it.
 */
export class SipFramer {
  #buffer: Buffer = Buffer.alloc(0)
  readonly #limits: SipLimits
  constructor(limits: SipLimits = SIP_LIMITS) {
    this.#limits = limits
  }

  /** Octets held back waiting for the rest of a message. */
  get pending(): number {
    return this.#buffer.length
  }

  push(chunk: Buffer): (SipMessage | 'ping' | 'pong')[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    const out: (SipMessage | 'ping' | 'pong')[] = []
    for (;;) {
      // Leading CRLFs: a keep-alive (CRLFCRLF) or stray line ends.
      let skip = 0
      while (skip + 1 < this.#buffer.length && this.#buffer[skip] === 13 && this.#buffer[skip + 1] === 10)
        skip += 2
      if (skip > 0) {
        out.push(skip >= 4 ? 'ping' : 'pong')
        this.#buffer = this.#buffer.subarray(skip)
      }
      if (this.#buffer.length === 0) return out
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end < 0) {
        if (this.#buffer.length > this.#limits.headerBytes)
          fail(`headers longer than ${this.#limits.headerBytes} octets`, 0)
        return out
      }
      if (end > this.#limits.headerBytes) fail(`headers longer than ${this.#limits.headerBytes} octets`, 0)
      const head = parseHead(this.#buffer.subarray(0, end).toString('utf8'), this.#limits)
      const lengthText = head.headers.get('content-length')
      // On a stream Content-Length is mandatory (RFC 3261 §18.3); treat its absence as an empty body.
      const length = lengthText === undefined ? 0 : Number(lengthText)
      if (!Number.isInteger(length) || length < 0 || !/^\s*\d+\s*$/.test(lengthText ?? '0'))
        fail(`a Content-Length that is not a number: ${JSON.stringify(lengthText)}`, end)
      if (length > this.#limits.bodyBytes)
        fail(`a body of ${length} octets (at most ${this.#limits.bodyBytes})`, end)
      const total = end + 4 + length
      if (this.#buffer.length < total) return out
      const body = Buffer.from(this.#buffer.subarray(end + 4, total))
      this.#buffer = this.#buffer.subarray(total)
      out.push({ ...head, body })
    }
  }
}

/** Serializes a message with Content-Length set from the body. */
export function encodeSip(m: SipMessage): Buffer {
  const start = m.kind === 'request' ? `${m.method} ${m.uri} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason}`
  const lines = [start]
  for (const [n, v] of m.headers.entries) if (canonical(n) !== 'content-length') lines.push(`${n}: ${v}`)
  lines.push(`Content-Length: ${m.body.length}`)
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), m.body])
}

/** The parameters of a `Scheme k="v", k2=v2` credentials or challenge value, scheme lower-cased. */
export function parseAuthParams(value: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*([A-Za-z0-9-]+)\s*(.*)$/s.exec(value)
  const scheme = (m?.[1] ?? '').toLowerCase()
  const params: Record<string, string> = {}
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/gy
  const rest = m?.[2] ?? ''
  let p: RegExpExecArray | null
  while ((p = re.exec(rest)) !== null && p[0] !== '') params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? ''
  return { scheme, params }
}

/** The address inside a From/To/Contact value: `"Alice" <sip:alice@x>;tag=1` → sip:alice@x. */
export function uriOf(value: string | undefined): string {
  if (value === undefined) return ''
  const angle = /<([^>]*)>/.exec(value)
  return (angle ? angle[1]! : value.split(';')[0]!).trim()
}

/** A parameter of a From/To/Via value (`tag`, `branch`). */
export function paramOf(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined
  const after = value.includes('>') ? value.slice(value.lastIndexOf('>') + 1) : value
  for (const part of after.split(';').slice(1)) {
    const [k, v] = part.split('=')
    if (k?.trim().toLowerCase() === name) return (v ?? '').trim()
  }
  return undefined
}

/** What a message's signature covers besides the message ([MS-SIP] §3.1.4.2): the security association's part. */
export interface SignatureParams {
  /** The authentication protocol version the security association runs (2, 3 or 4: MS-SIPAE §1.7). */
  readonly version: number
  /** `NTLM` or `Kerberos`, as the Authorization header names it. */
  readonly scheme: string
  /** crand (client) or srand (server). */
  readonly rand: string
  /** cnum (client) or snum (server). */
  readonly num: string
  readonly realm: string
  readonly targetname: string
}

/** The sip: and tel: URIs a P-Asserted-Identity (or P-Preferred-Identity) names, as they appear. */
function assertedIdentity(m: SipMessage): { sip: string; tel: string } {
  const value = m.headers.get('p-asserted-identity') ?? m.headers.get('p-preferred-identity')
  const out = { sip: '', tel: '' }
  if (value === undefined) return out
  if (/^tel:/i.test(value.trim())) return { sip: '', tel: value.trim() }
  for (const part of value.split(',')) {
    const uri = /<([^>]*)>/.exec(part)?.[1]
    if (uri === undefined) continue
    if (/^sip:/i.test(uri) && out.sip === '') out.sip = uri
    else if (/^tel:/i.test(uri) && out.tel === '') out.tel = uri
  }
  return out
}

/**
 * The buffer an MS-SIP signature is computed over ([MS-SIP] §3.1.4.2, [MS-SIPAE] §3.2.5.2), each value as it
 * appears in the message, in angle brackets. Version 2: authentication method, rand, num, realm, targetname,
 * Call-ID, CSeq number, CSeq method, From URI, From tag, To tag, Expires, and a response's status code.
 * Versions 3 and 4 add the To URI after the From tag and the P-Asserted-Identity's sip: and tel: URIs before
 * Expires. Expires keeps its place when the message has none (empty brackets), as sipe's recorded OCS 2007
 * R2 exchanges show.
 */
export function signatureBuffer(m: SipMessage, p: SignatureParams): string {
  const from = m.headers.get('from')
  const to = m.headers.get('to')
  const [cseqNum = '', cseqMethod = ''] = (m.headers.get('cseq') ?? '').trim().split(/\s+/)
  const head = [p.scheme, p.rand, p.num, p.realm, p.targetname, m.headers.get('call-id') ?? '']
  const method = m.kind === 'request' ? m.method : cseqMethod
  const who = [uriOf(from), paramOf(from, 'tag') ?? '']
  const pai = assertedIdentity(m)
  const middle =
    p.version >= 3
      ? [...who, uriOf(to), paramOf(to, 'tag') ?? '', pai.sip, pai.tel]
      : [...who, paramOf(to, 'tag') ?? '']
  const parts = [...head, cseqNum, method, ...middle, m.headers.get('expires') ?? '']
  if (m.kind === 'response') parts.push(String(m.status))
  return parts.map((x) => `<${x}>`).join('')
}
