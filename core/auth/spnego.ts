import {
  application,
  context,
  enumerated,
  octetString,
  oid,
  readDer,
  sequence,
  tlv,
  type DerNode,
} from '../der.js'
import { LabDecodeError } from '../errors.js'

/**
 * GSS-API tokens as HTTP `Negotiate` and SASL carry them: SPNEGO (RFC 4178) around Kerberos (RFC 4121 §4.1)
 * or NTLMSSP, a bare Kerberos token, or bare NTLMSSP. Pure.
 */

/** Mechanism OIDs, as their DER content octets in hex. */
export const Mech = {
  spnego: '2b0601050502', // 1.3.6.1.5.5.2
  krb5: '2a864886f712010202', // 1.2.840.113554.1.2.2
  msKrb5: '2a864882f712010202', // 1.2.840.48018.1.2.2 (Microsoft's, sent first by Windows)
  ntlm: '2b06010401823702020a', // 1.3.6.1.4.1.311.2.2.10
} as const

/** Kerberos GSS token IDs (RFC 4121 §4.1). */
export const KrbTokId = { apReq: 0x0100, apRep: 0x0200, error: 0x0300 } as const

export type GssToken =
  /** SPNEGO's first token: the mechanisms the client offers, and the optimistic token of the first. */
  | { readonly kind: 'init'; readonly mechs: readonly string[]; readonly mechToken?: Uint8Array }
  /** A later SPNEGO token (NegTokenResp) with the mechanism's next token. */
  | { readonly kind: 'resp'; readonly state?: number; readonly mechToken?: Uint8Array }
  /** A Kerberos token outside SPNEGO (RFC 4121): the message after the token ID. */
  | { readonly kind: 'krb5'; readonly tokId: number; readonly message: Uint8Array; readonly mech: string }
  | { readonly kind: 'ntlm'; readonly message: Uint8Array }

function fail(message: string): never {
  throw new LabDecodeError('LAB_ERR_DER_DECODE', `Failed to decode a GSS-API token: ${message}.`, 0)
}

const isNtlm = (b: Uint8Array): boolean => Buffer.from(b.subarray(0, 8)).toString('latin1') === 'NTLMSSP\0'

/** Reads a Kerberos mechanism token (0x60 { krb5 OID, TOK_ID, message }). */
export function readKrb5Token(b: Uint8Array): { tokId: number; message: Uint8Array; mech: string } {
  const { node } = readDer(b)
  if (node.tag !== 0x60) fail('not an InitialContextToken')
  const { node: mech, next } = readDer(node.value)
  if (mech.tag !== 0x06) fail('no mechanism OID')
  const hex = Buffer.from(mech.value).toString('hex')
  if (hex !== Mech.krb5 && hex !== Mech.msKrb5) fail(`mechanism ${hex} is not Kerberos`)
  if (next + 2 > node.value.length) fail('no token ID')
  const tokId = (node.value[next]! << 8) | node.value[next + 1]!
  return { tokId, message: node.value.subarray(next + 2), mech: hex }
}

function octets(n: DerNode | undefined): Uint8Array | undefined {
  return n?.bytes('mechToken')
}

/** Any token a client sends in `Authorization: Negotiate …` or a SASL bind. */
export function readGssToken(b: Uint8Array): GssToken {
  if (isNtlm(b)) return { kind: 'ntlm', message: b }
  const { node } = readDer(b)
  if (node.tag === 0xa1) {
    const s = node.only('NegTokenResp')
    const stateNode = s.optional(0)
    const mechToken = octets(s.optional(2))
    return {
      kind: 'resp',
      ...(stateNode ? { state: enumeratedValue(stateNode) } : {}),
      ...(mechToken ? { mechToken } : {}),
    }
  }
  if (node.tag !== 0x60) fail(`tag 0x${node.tag.toString(16)}`)
  const { node: mech, next } = readDer(node.value)
  if (mech.tag !== 0x06) fail('no mechanism OID')
  const hex = Buffer.from(mech.value).toString('hex')
  if (hex === Mech.krb5 || hex === Mech.msKrb5) {
    const k = readKrb5Token(b)
    return { kind: 'krb5', ...k }
  }
  if (hex !== Mech.spnego) fail(`mechanism ${hex} is neither SPNEGO nor Kerberos`)
  const { node: init } = readDer(node.value, next)
  if (init.tag !== 0xa0) fail('not a NegTokenInit')
  const s = init.only('NegTokenInit')
  const mechs =
    s
      .optional(0)
      ?.items('mechTypes')
      .map((m) => Buffer.from(m.expect(0x06, 'mech').value).toString('hex')) ?? []
  const mechToken = octets(s.optional(2))
  return { kind: 'init', mechs, ...(mechToken ? { mechToken } : {}) }
}

function enumeratedValue(n: DerNode): number {
  const v = n.expect(0x0a, 'negState').value
  if (v.length !== 1) fail('negState')
  return v[0]!
}

/** 0 accept-completed, 1 accept-incomplete, 2 reject (RFC 4178 §4.2.2). */
export const NegState = { acceptCompleted: 0, acceptIncomplete: 1, reject: 2 } as const

/** A NegTokenResp: the state, the mechanism chosen (in the first answer) and the mechanism's token. */
export function negTokenResp(state: number, mech?: string, token?: Uint8Array): Uint8Array {
  return tlv(
    0xa1,
    sequence(
      context(0, enumerated(state)),
      context(1, mech === undefined ? undefined : oid(Buffer.from(mech, 'hex'))),
      context(2, token && octetString(token)),
    ),
  )
}

/** A Kerberos GSS token: the mechanism OID, the token ID and the message (RFC 4121 §4.1). */
export function krb5Token(tokId: number, message: Uint8Array, mech: string = Mech.krb5): Uint8Array {
  return application(
    0,
    Buffer.concat([oid(Buffer.from(mech, 'hex')), Buffer.from([tokId >> 8, tokId & 0xff]), message]),
  )
}

/** The client's first SPNEGO token (NegTokenInit) offering `mechs`, with the first one's token. */
export function negTokenInit(mechs: readonly string[], token: Uint8Array): Uint8Array {
  const init = tlv(
    0xa0,
    sequence(
      context(0, sequence(...mechs.map((m) => oid(Buffer.from(m, 'hex'))))),
      context(2, octetString(token)),
    ),
  )
  return application(0, Buffer.concat([oid(Buffer.from(Mech.spnego, 'hex')), init]))
}
