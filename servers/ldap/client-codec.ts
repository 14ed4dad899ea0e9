import type { BerWriter } from 'ldapts'
import {
  LdapOp,
  Reader,
  envelope,
  fail,
  withBer,
  type EncodedAttribute,
  type LdapFilter,
  type Scope,
} from './codec.js'

/**
 * The client's side of LDAPv3 (RFC 4511), pure: the requests a CX700 sends (bind, simple or SASL with binary
 * credentials; search; unbind) and the responses it reads. The server's codec decodes the same requests and
 * encodes the same responses, so each side's tests hold the other. Every failure is LAB_ERR_LDAP_DECODE.
 */

export type BindAuth =
  | { readonly name: string; readonly password: string }
  | { readonly name?: string; readonly mechanism: string; readonly credentials?: Uint8Array }

export interface SearchSpec {
  readonly base: string
  readonly scope: Scope
  readonly filter: LdapFilter
  readonly attributes: readonly string[]
  readonly sizeLimit?: number
}

export type LdapResponse =
  | {
      readonly kind: 'bind'
      readonly id: number
      readonly code: number
      readonly message: string
      readonly serverSaslCreds?: Buffer
    }
  | {
      readonly kind: 'entry'
      readonly id: number
      readonly dn: string
      readonly attributes: EncodedAttribute[]
    }
  | { readonly kind: 'reference'; readonly id: number; readonly uris: string[] }
  | { readonly kind: 'done'; readonly id: number; readonly code: number; readonly message: string }
  /** Any other response (an extended one such as a notice of disconnection): its tag and result code. */
  | { readonly kind: 'other'; readonly id: number; readonly tag: number; readonly code: number }

const SCOPES: Readonly<Record<Scope, number>> = { base: 0, one: 1, sub: 2 }

export function encodeBindRequest(id: number, auth: BindAuth): Buffer {
  return envelope(id, (w) => {
    w.startSequence(LdapOp.bindRequest)
    w.writeInt(3)
    w.writeString(auth.name ?? '')
    if ('password' in auth) w.writeBuffer(Buffer.from(auth.password, 'utf8'), 0x80)
    else {
      w.startSequence(0xa3)
      w.writeString(auth.mechanism)
      if (auth.credentials) w.writeBuffer(Buffer.from(auth.credentials), 0x04)
      w.endSequence()
    }
    w.endSequence()
  })
}

export function encodeSearchRequest(id: number, s: SearchSpec): Buffer {
  return envelope(id, (w) => {
    w.startSequence(LdapOp.searchRequest)
    w.writeString(s.base)
    w.writeEnumeration(SCOPES[s.scope])
    w.writeEnumeration(0) // derefAliases: never
    w.writeInt(s.sizeLimit ?? 0)
    w.writeInt(0) // timeLimit
    w.writeBoolean(false) // typesOnly
    writeFilter(w, s.filter)
    w.startSequence()
    for (const a of s.attributes) w.writeString(a)
    w.endSequence()
    w.endSequence()
  })
}

export function encodeUnbindRequest(id: number): Buffer {
  return envelope(id, (w) => w.writeBuffer(Buffer.alloc(0), LdapOp.unbindRequest))
}

const FILTER_TAGS = { and: 0xa0, or: 0xa1, equality: 0xa3, ge: 0xa5, le: 0xa6, approx: 0xa8 } as const

function writeFilter(w: BerWriter, f: LdapFilter): void {
  switch (f.type) {
    case 'and':
    case 'or':
      w.startSequence(FILTER_TAGS[f.type])
      for (const x of f.filters) writeFilter(w, x)
      w.endSequence()
      return
    case 'not':
      w.startSequence(0xa2)
      writeFilter(w, f.filter)
      w.endSequence()
      return
    case 'equality':
    case 'ge':
    case 'le':
    case 'approx':
      w.startSequence(FILTER_TAGS[f.type])
      w.writeString(f.attribute)
      w.writeBuffer(f.value, 0x04)
      w.endSequence()
      return
    case 'present':
      w.writeBuffer(Buffer.from(f.attribute, 'utf8'), 0x87)
      return
    case 'substrings':
    case 'extensible':
      // The phone writes neither (its searches are equality and presence).
      throw new TypeError(`the client codec writes no ${f.type} filter`)
  }
}

/** LDAPResult's three fields (RFC 4511 §4.1.9); referrals and the rest up to `end` are passed over. */
function readResult(r: Reader): { code: number; message: string } {
  const code = r.int(0x0a)
  r.string()
  return { code, message: r.string() }
}

function readEntry(r: Reader, id: number, end: number): LdapResponse {
  const dn = r.string()
  const all = r.sequence(0x30)
  const attributes: EncodedAttribute[] = []
  while (r.offset < all.end) {
    r.sequence(0x30)
    const type = r.string()
    const set = r.sequence(0x31)
    const values: Buffer[] = []
    while (r.offset < set.end) values.push(r.bytes(0x04))
    attributes.push({ type, values })
  }
  if (r.offset !== end) fail('a search entry has trailing octets', r.offset)
  return { kind: 'entry', id, dn, attributes }
}

function readResponse(r: Reader, id: number): LdapResponse {
  const { tag, end } = r.sequence()
  switch (tag) {
    case LdapOp.bindResponse: {
      const result = readResult(r)
      while (r.offset < end && r.peek() !== 0x87) r.skip()
      const creds = r.offset < end ? r.bytes(0x87) : undefined
      r.ber.offset = end
      return { kind: 'bind', id, ...result, ...(creds ? { serverSaslCreds: creds } : {}) }
    }
    case LdapOp.searchResultEntry:
      return readEntry(r, id, end)
    case LdapOp.searchResultReference: {
      const uris: string[] = []
      while (r.offset < end) uris.push(r.string())
      return { kind: 'reference', id, uris }
    }
    case LdapOp.searchResultDone: {
      const result = readResult(r)
      r.ber.offset = end
      return { kind: 'done', id, ...result }
    }
    default: {
      const { code } = readResult(r)
      r.ber.offset = end
      return { kind: 'other', id, tag, code }
    }
  }
}

/** Decodes one response LDAPMessage (a frame from `takeLdapFrames`); controls are passed over. */
export function decodeLdapResponse(frame: Buffer): LdapResponse {
  const r = new Reader(frame)
  return withBer(
    () => {
      const outer = r.sequence(0x30)
      if (outer.end !== frame.length) fail('octets after the message', outer.end)
      const response = readResponse(r, r.int())
      r.ber.offset = outer.end
      return response
    },
    () => r.offset,
  )
}
