import { BerReader, BerWriter } from 'ldapts'
import { LabDecodeError } from '../../core/errors.js'

/**
 * LDAPv3 messages (RFC 4511), pure: framing, request decoding, response encoding, filters (RFC 4515 text
 * for the journal). Built on ldapts's BER reader and writer; the message and filter decoding is ours
 * (ADR 0006): ldapts's PresenceFilter decoder reads from the start of the buffer, its SearchRequest
 * decoder mixes up scope and derefAliases, and its errors are untyped. Every failure here is a
 * LabDecodeError (LAB_ERR_LDAP_DECODE).
 */

export const LdapResult = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  sizeLimitExceeded: 4,
  authMethodNotSupported: 7,
  saslBindInProgress: 14,
  noSuchObject: 32,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
} as const
const RESULT_NAMES = new Map<number, string>(Object.entries(LdapResult).map(([k, v]) => [v, k]))
export function resultName(code: number): string {
  return RESULT_NAMES.get(code) ?? `result ${code}`
}

/** Application tags of the protocol operations (RFC 4511 §4.2–4.12). */
export const LdapOp = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  searchResultEntry: 0x64,
  searchResultDone: 0x65,
  searchResultReference: 0x73,
  modifyRequest: 0x66,
  modifyResponse: 0x67,
  addRequest: 0x68,
  addResponse: 0x69,
  delRequest: 0x4a,
  delResponse: 0x6b,
  modDnRequest: 0x6c,
  modDnResponse: 0x6d,
  compareRequest: 0x6e,
  compareResponse: 0x6f,
  abandonRequest: 0x50,
  extendedRequest: 0x77,
  extendedResponse: 0x78,
} as const

/** The response tag for each request that has one. */
export const RESPONSE_TAG: ReadonlyMap<number, number> = new Map([
  [LdapOp.bindRequest, LdapOp.bindResponse],
  [LdapOp.searchRequest, LdapOp.searchResultDone],
  [LdapOp.modifyRequest, LdapOp.modifyResponse],
  [LdapOp.addRequest, LdapOp.addResponse],
  [LdapOp.delRequest, LdapOp.delResponse],
  [LdapOp.modDnRequest, LdapOp.modDnResponse],
  [LdapOp.compareRequest, LdapOp.compareResponse],
  [LdapOp.extendedRequest, LdapOp.extendedResponse],
])

export const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319'
export const NOTICE_OF_DISCONNECTION_OID = '1.3.6.1.4.1.1466.20036'

export type Scope = 'base' | 'one' | 'sub'

export type LdapFilter =
  | { readonly type: 'and' | 'or'; readonly filters: readonly LdapFilter[] }
  | { readonly type: 'not'; readonly filter: LdapFilter }
  | { readonly type: 'equality' | 'ge' | 'le' | 'approx'; readonly attribute: string; readonly value: Buffer }
  | { readonly type: 'present'; readonly attribute: string }
  | {
      readonly type: 'substrings'
      readonly attribute: string
      readonly initial?: Buffer
      readonly any: readonly Buffer[]
      readonly final?: Buffer
    }
  | {
      readonly type: 'extensible'
      readonly attribute?: string
      readonly rule?: string
      readonly value: Buffer
    }

export interface LdapControl {
  readonly oid: string
  readonly critical: boolean
  readonly value?: Buffer
}

export type LdapOperation =
  | { readonly kind: 'bind'; readonly version: number; readonly name: string; readonly password: Buffer }
  | {
      readonly kind: 'sasl-bind'
      readonly version: number
      readonly name: string
      readonly mechanism: string
      readonly credentials?: Buffer
    }
  | {
      readonly kind: 'search'
      readonly base: string
      readonly scope: Scope
      readonly derefAliases: number
      readonly sizeLimit: number
      readonly timeLimit: number
      readonly typesOnly: boolean
      readonly filter: LdapFilter
      readonly attributes: readonly string[]
    }
  | { readonly kind: 'unbind' }
  | { readonly kind: 'abandon'; readonly id: number }
  | { readonly kind: 'extended'; readonly oid: string; readonly value?: Buffer }
  /** An operation the lab decodes no further (add, modify, delete, compare …): answered by its tag. */
  | { readonly kind: 'other'; readonly tag: number }

export interface LdapMessage {
  readonly id: number
  readonly op: LdapOperation
  readonly controls: readonly LdapControl[]
}

export function fail(message: string, offset: number): never {
  throw new LabDecodeError('LAB_ERR_LDAP_DECODE', `Failed to decode LDAP: ${message}.`, offset)
}

/** A reader over exactly one element's contents; every read is checked (the client codec reads with it too). */
export class Reader {
  readonly ber: BerReader
  constructor(buf: Buffer) {
    this.ber = new BerReader(buf)
  }
  get offset(): number {
    return this.ber.offset
  }
  get remain(): number {
    return this.ber.remain
  }
  peek(): number {
    const t = this.ber.peek()
    if (t === null) fail('the message ends where an element should start', this.offset)
    return t
  }
  /** Enters a constructed element; returns its tag and where it ends. */
  sequence(expected?: number): { tag: number; end: number } {
    const tag = this.peek()
    if (expected !== undefined && tag !== expected)
      fail(`expected tag 0x${expected.toString(16)}, found 0x${tag.toString(16)}`, this.offset)
    if (this.ber.readSequence() === null) fail('a length runs past the end of the message', this.offset)
    const end = this.ber.offset + this.ber.length
    if (end > this.ber.buffer.length) fail('an element runs past the end of the message', this.offset)
    return { tag, end }
  }
  bytes(tag: number): Buffer {
    const b = this.ber.readString(tag, true)
    if (b === null) fail(`an element with tag 0x${tag.toString(16)} runs past the end`, this.offset)
    return Buffer.from(b)
  }
  string(tag = 0x04): string {
    return this.bytes(tag).toString('utf8')
  }
  int(tag = 0x02): number {
    const start = this.offset
    const b = this.bytes(tag)
    if (b.length < 1 || b.length > 4) fail(`an integer of ${b.length} octets`, start)
    let v = (b[0]! & 0x80) !== 0 ? -1 : 0
    for (const x of b) v = (v << 8) | x
    return v
  }
  boolean(): boolean {
    const b = this.bytes(0x01)
    if (b.length !== 1) fail('a boolean is not one octet', this.offset)
    return b[0] !== 0
  }
  skip(): void {
    const { end } = this.sequence()
    this.ber.offset = end
  }
}

/** Runs a decode, every failure of ldapts's reader turned into LAB_ERR_LDAP_DECODE. */
export function withBer<T>(fn: () => T, offset: () => number): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof LabDecodeError) throw err
    // ldapts's reader throws InvalidAsn1Error (and a RangeError on some truncations): all are decode errors.
    fail((err as Error).message.replace(/\.$/, ''), offset())
  }
}

function decodeFilter(r: Reader, depth: number): LdapFilter {
  if (depth > 32) fail('filters nest deeper than 32', r.offset)
  const { tag, end } = r.sequence()
  const attributeValue = (): { attribute: string; value: Buffer } => ({
    attribute: r.string(),
    value: r.bytes(0x04),
  })
  let f: LdapFilter
  switch (tag) {
    case 0xa0:
    case 0xa1: {
      const filters: LdapFilter[] = []
      while (r.offset < end) filters.push(decodeFilter(r, depth + 1))
      f = { type: tag === 0xa0 ? 'and' : 'or', filters }
      break
    }
    case 0xa2:
      f = { type: 'not', filter: decodeFilter(r, depth + 1) }
      break
    case 0xa3:
      f = { type: 'equality', ...attributeValue() }
      break
    case 0xa5:
      f = { type: 'ge', ...attributeValue() }
      break
    case 0xa6:
      f = { type: 'le', ...attributeValue() }
      break
    case 0xa8:
      f = { type: 'approx', ...attributeValue() }
      break
    case 0x87: {
      // present: the attribute description is the element's own contents (the ldapts decoder gets this wrong)
      const attribute = r.ber.buffer.subarray(r.offset, end).toString('utf8')
      r.ber.offset = end
      f = { type: 'present', attribute }
      break
    }
    case 0xa4: {
      const attribute = r.string()
      const seq = r.sequence(0x30)
      let initial: Buffer | undefined
      let final: Buffer | undefined
      const any: Buffer[] = []
      while (r.offset < seq.end) {
        const t = r.peek()
        if (t === 0x80) initial = r.bytes(0x80)
        else if (t === 0x81) any.push(r.bytes(0x81))
        else if (t === 0x82) final = r.bytes(0x82)
        else fail(`substring choice 0x${t.toString(16)}`, r.offset)
      }
      f = { type: 'substrings', attribute, any, ...(initial ? { initial } : {}), ...(final ? { final } : {}) }
      break
    }
    case 0xa9: {
      let rule: string | undefined
      let attribute: string | undefined
      let value: Buffer = Buffer.alloc(0)
      while (r.offset < end) {
        const t = r.peek()
        if (t === 0x81) rule = r.string(0x81)
        else if (t === 0x82) attribute = r.string(0x82)
        else if (t === 0x83) value = r.bytes(0x83)
        else if (t === 0x84) r.bytes(0x84)
        else fail(`extensible match element 0x${t.toString(16)}`, r.offset)
      }
      f = {
        type: 'extensible',
        value,
        ...(rule !== undefined ? { rule } : {}),
        ...(attribute !== undefined ? { attribute } : {}),
      }
      break
    }
    default:
      fail(`filter choice 0x${tag.toString(16)}`, r.offset)
  }
  if (r.offset !== end) fail('a filter has trailing octets', r.offset)
  return f
}

function decodeOperation(r: Reader): LdapOperation {
  const tag = r.peek()
  if (tag === LdapOp.unbindRequest) {
    r.bytes(LdapOp.unbindRequest)
    return { kind: 'unbind' }
  }
  if (tag === LdapOp.abandonRequest) return { kind: 'abandon', id: r.int(LdapOp.abandonRequest) }
  const { end } = r.sequence()
  switch (tag) {
    case LdapOp.bindRequest: {
      const version = r.int()
      const name = r.string()
      const auth = r.peek()
      if (auth === 0x80) return { kind: 'bind', version, name, password: r.bytes(0x80) }
      if (auth === 0xa3) {
        const sasl = r.sequence(0xa3)
        const mechanism = r.string()
        const credentials = r.offset < sasl.end ? r.bytes(0x04) : undefined
        return { kind: 'sasl-bind', version, name, mechanism, ...(credentials ? { credentials } : {}) }
      }
      return fail(`bind authentication choice 0x${auth.toString(16)}`, r.offset)
    }
    case LdapOp.searchRequest: {
      const base = r.string()
      const scopeCode = r.int(0x0a)
      const scope = (['base', 'one', 'sub'] as const)[scopeCode]
      if (scope === undefined) fail(`search scope ${scopeCode}`, r.offset)
      const derefAliases = r.int(0x0a)
      const sizeLimit = r.int()
      const timeLimit = r.int()
      const typesOnly = r.boolean()
      const filter = decodeFilter(r, 0)
      const attrs = r.sequence(0x30)
      const attributes: string[] = []
      while (r.offset < attrs.end) attributes.push(r.string())
      return {
        kind: 'search',
        base,
        scope,
        derefAliases,
        sizeLimit,
        timeLimit,
        typesOnly,
        filter,
        attributes,
      }
    }
    case LdapOp.extendedRequest: {
      const oid = r.string(0x80)
      const value = r.offset < end ? r.bytes(0x81) : undefined
      return { kind: 'extended', oid, ...(value ? { value } : {}) }
    }
    default:
      if (!RESPONSE_TAG.has(tag)) fail(`protocol operation 0x${tag.toString(16)}`, r.offset)
      r.ber.offset = end
      return { kind: 'other', tag }
  }
}

/** Decodes one LDAPMessage (a frame from `takeLdapFrames`). */
export function decodeLdapMessage(frame: Buffer): LdapMessage {
  const r = new Reader(frame)
  return withBer(
    () => {
      const outer = r.sequence(0x30)
      if (outer.end !== frame.length) fail('octets after the message', outer.end)
      const id = r.int()
      if (id < 0) fail(`message id ${id}`, 2)
      const op = decodeOperation(r)
      const controls: LdapControl[] = []
      if (r.offset < outer.end) {
        const c = r.sequence(0xa0)
        while (r.offset < c.end) {
          const one = r.sequence(0x30)
          const oid = r.string()
          let critical = false
          let value: Buffer | undefined
          if (r.offset < one.end && r.peek() === 0x01) critical = r.boolean()
          if (r.offset < one.end) value = r.bytes(0x04)
          controls.push({ oid, critical, ...(value ? { value } : {}) })
        }
      }
      if (r.offset !== outer.end) fail('octets after the operation', r.offset)
      return { id, op, controls }
    },
    () => r.offset,
  )
}

/** The message id of a frame that failed to decode, when it can be read (for the answer to name it). */
export function peekMessageId(frame: Buffer): number | undefined {
  try {
    const r = new Reader(frame)
    r.sequence(0x30)
    return r.int()
  } catch {
    return undefined
  }
}

/** The largest LDAP message the lab accepts (a search request is a few hundred octets). */
export const MAX_LDAP_MESSAGE = 1024 * 1024

/**
 * Splits a TCP stream into LDAPMessage frames (a SEQUENCE with a definite length). Incomplete data is the
 * `rest`, not an error; a stream that cannot be an LDAP message (another tag, indefinite or over-long
 * length) throws LabDecodeError, after which the connection cannot be resynchronised.
 */
export function takeLdapFrames(stream: Buffer): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = []
  let p = 0
  while (p < stream.length) {
    if (stream[p] !== 0x30) fail(`a message starts with 0x${stream[p]!.toString(16)}, not a SEQUENCE`, p)
    if (p + 2 > stream.length) break
    const first = stream[p + 1]!
    let length: number
    let header: number
    if (first < 0x80) {
      length = first
      header = 2
    } else {
      const n = first & 0x7f
      if (n === 0) fail('indefinite lengths are not allowed in LDAP', p + 1)
      if (n > 4) fail(`a length of ${n} octets`, p + 1)
      if (p + 2 + n > stream.length) break
      length = 0
      for (let i = 0; i < n; i++) length = length * 256 + stream[p + 2 + i]!
      header = 2 + n
    }
    if (length > MAX_LDAP_MESSAGE) fail(`a message of ${length} octets (at most ${MAX_LDAP_MESSAGE})`, p)
    if (p + header + length > stream.length) break
    frames.push(stream.subarray(p, p + header + length))
    p += header + length
  }
  return { frames, rest: stream.subarray(p) }
}

// ---------------------------------------------------------------------------------------------- encoding

export interface EncodedAttribute {
  readonly type: string
  readonly values: readonly Buffer[]
}

/** One whole LDAPMessage: the id, the operation `body` writes, the controls. */
export function envelope(
  id: number,
  body: (w: BerWriter) => void,
  controls: readonly LdapControl[] = [],
): Buffer {
  const w = new BerWriter()
  writeEnvelope(w, id, body, controls)
  return Buffer.from(w.buffer)
}

/** One LDAPMessage (RFC 4511 §4.2.1: messageID, protocolOp, [0] controls) written after what `w` holds. */
function writeEnvelope(
  w: BerWriter,
  id: number,
  body: (w: BerWriter) => void,
  controls: readonly LdapControl[] = [],
): void {
  w.startSequence()
  w.writeInt(id)
  body(w)
  if (controls.length > 0) {
    w.startSequence(0xa0)
    for (const c of controls) {
      w.startSequence()
      w.writeString(c.oid)
      if (c.critical) w.writeBoolean(true)
      if (c.value) w.writeBuffer(c.value, 0x04)
      w.endSequence()
    }
    w.endSequence()
  }
  w.endSequence()
}

function writeResult(w: BerWriter, code: number, matchedDn: string, message: string): void {
  w.writeEnumeration(code)
  w.writeString(matchedDn)
  w.writeString(message)
}

/** An LDAPResult-shaped response (bind, search done, add, modify …) with the given tag. */
export function encodeResult(
  id: number,
  tag: number,
  code: number,
  message = '',
  options: { matchedDn?: string; controls?: readonly LdapControl[] } = {},
): Buffer {
  return envelope(id, resultBody(tag, code, message, options), options.controls)
}

function resultBody(
  tag: number,
  code: number,
  message: string,
  options: { readonly matchedDn?: string },
): (w: BerWriter) => void {
  return (w) => {
    w.startSequence(tag)
    writeResult(w, code, options.matchedDn ?? '', message)
    w.endSequence()
  }
}

/** A BindResponse with the server's SASL credentials ([7] serverSaslCreds, RFC 4511 §4.2.2). */
export function encodeBindResponse(
  id: number,
  code: number,
  message: string,
  serverSaslCreds?: Uint8Array,
): Buffer {
  return envelope(id, (w) => {
    w.startSequence(LdapOp.bindResponse)
    writeResult(w, code, '', message)
    if (serverSaslCreds) w.writeBuffer(Buffer.from(serverSaslCreds), 0x87)
    w.endSequence()
  })
}

export function encodeSearchEntry(id: number, dn: string, attributes: readonly EncodedAttribute[]): Buffer {
  return envelope(id, searchEntryBody(dn, attributes))
}

function searchEntryBody(dn: string, attributes: readonly EncodedAttribute[]): (w: BerWriter) => void {
  return (w) => {
    w.startSequence(LdapOp.searchResultEntry)
    w.writeString(dn)
    w.startSequence()
    for (const a of attributes) {
      w.startSequence()
      w.writeString(a.type)
      w.startSequence(0x31)
      for (const v of a.values) w.writeBuffer(v, 0x04)
      w.endSequence()
      w.endSequence()
    }
    w.endSequence()
    w.endSequence()
  }
}

/** A SearchResultReference (RFC 4511 §4.5.3): [APPLICATION 19] SEQUENCE OF URI. */
export function encodeSearchReference(id: number, uris: readonly string[]): Buffer {
  return envelope(id, searchReferenceBody(uris))
}

function searchReferenceBody(uris: readonly string[]): (w: BerWriter) => void {
  return (w) => {
    w.startSequence(LdapOp.searchResultReference)
    for (const uri of uris) w.writeString(uri)
    w.endSequence()
  }
}

/** What a search answers, after its entries: any continuation references, then the SearchResultDone. */
export interface SearchEnd {
  readonly references?: readonly string[]
  readonly code: number
  readonly message: string
  readonly matchedDn?: string
  readonly controls?: readonly LdapControl[]
}

/**
 * A search's whole answer (RFC 4511 §4.5.2: its entries, any reference, the done, each its own LDAPMessage)
 * written one after another into one buffer sized for it at the start: one allocation where a message each
 * took three (the writer's 1 KiB, its growth for a certificate, the copy out), and one socket write.
 */
export function encodeSearchAnswer(
  id: number,
  entries: readonly { readonly dn: string; readonly attributes: readonly EncodedAttribute[] }[],
  end: SearchEnd,
): Buffer {
  // The octets it will take, near enough: strings as UTF-8 at most, each element's tag and length at most 6.
  let size = 64 + 3 * end.message.length + 3 * (end.matchedDn?.length ?? 0)
  for (const c of end.controls ?? []) size += 32 + c.oid.length + (c.value?.length ?? 0)
  for (const uri of end.references ?? []) size += 6 + 3 * uri.length
  for (const e of entries) {
    size += 32 + 3 * e.dn.length
    for (const a of e.attributes) {
      size += 18 + 3 * a.type.length
      for (const v of a.values) size += 6 + v.length
    }
  }
  const w = new BerWriter({ size })
  for (const e of entries) writeEnvelope(w, id, searchEntryBody(e.dn, e.attributes))
  if (end.references) writeEnvelope(w, id, searchReferenceBody(end.references))
  writeEnvelope(w, id, resultBody(LdapOp.searchResultDone, end.code, end.message, end), end.controls)
  return w.buffer
}

/** The unsolicited Notice of Disconnection (RFC 4511 §4.4.1), sent before the server closes a connection. */
export function encodeNoticeOfDisconnection(code: number, message: string): Buffer {
  return envelope(0, (w) => {
    w.startSequence(LdapOp.extendedResponse)
    writeResult(w, code, '', message)
    w.writeString(NOTICE_OF_DISCONNECTION_OID, 0x8a)
    w.endSequence()
  })
}

/** The paged-results control value (RFC 2696): `SEQUENCE { size INTEGER, cookie OCTET STRING }`. */
export function decodePagedResults(value: Buffer | undefined): { size: number; cookie: Buffer } {
  if (!value) fail('a paged-results control without a value', 0)
  const r = new Reader(value)
  return withBer(
    () => {
      r.sequence(0x30)
      return { size: r.int(), cookie: r.bytes(0x04) }
    },
    () => r.offset,
  )
}

export function encodePagedResults(size: number, cookie: Buffer): Buffer {
  const w = new BerWriter()
  w.startSequence()
  w.writeInt(size)
  w.writeBuffer(cookie, 0x04)
  w.endSequence()
  return Buffer.from(w.buffer)
}

// ------------------------------------------------------------------------------------------ presentation

function escapeValue(v: Buffer): string {
  let s = ''
  for (const b of v)
    s +=
      b < 0x20 || b > 0x7e || b === 0x2a || b === 0x28 || b === 0x29 || b === 0x5c
        ? `\\${b.toString(16).padStart(2, '0')}`
        : String.fromCharCode(b)
  return s
}

/** RFC 4515 text of a filter, for the journal: `(&(objectCategory=pKIEnrollmentService)(cn=*))`. */
export function filterText(f: LdapFilter): string {
  switch (f.type) {
    case 'and':
      return `(&${f.filters.map(filterText).join('')})`
    case 'or':
      return `(|${f.filters.map(filterText).join('')})`
    case 'not':
      return `(!${filterText(f.filter)})`
    case 'equality':
      return `(${f.attribute}=${escapeValue(f.value)})`
    case 'ge':
      return `(${f.attribute}>=${escapeValue(f.value)})`
    case 'le':
      return `(${f.attribute}<=${escapeValue(f.value)})`
    case 'approx':
      return `(${f.attribute}~=${escapeValue(f.value)})`
    case 'present':
      return `(${f.attribute}=*)`
    case 'substrings':
      return `(${f.attribute}=${f.initial ? escapeValue(f.initial) : ''}*${f.any.map((a) => `${escapeValue(a)}*`).join('')}${f.final ? escapeValue(f.final) : ''})`
    case 'extensible':
      return `(${f.attribute ?? ''}${f.rule ? `:${f.rule}` : ''}:=${escapeValue(f.value)})`
  }
}
