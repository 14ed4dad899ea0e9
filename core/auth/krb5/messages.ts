import {
  application,
  bitString32,
  context,
  generalString,
  generalizedTime,
  integer,
  octetString,
  parseDer,
  sequence,
  type DerNode,
} from '../../der.js'
import { LabDecodeError } from '../../errors.js'

/**
 * Kerberos V5 messages (RFC 4120 §5) as the KDC double, the acceptors and the emulator exchange them: typed
 * values in, DER out, and back; pure. Only the fields AD and its clients use are modelled; a received
 * request keeps the raw encoding of its body (the TGS-REQ's checksum is computed over it).
 */

export const MsgType = {
  asReq: 10,
  asRep: 11,
  tgsReq: 12,
  tgsRep: 13,
  apReq: 14,
  apRep: 15,
  error: 30,
} as const

export const PaType = {
  tgsReq: 1,
  encTimestamp: 2,
  etypeInfo2: 19,
  pacRequest: 128,
} as const

/** RFC 4120 §7.5.8 name types. */
export const NameType = { principal: 1, srvInst: 2, srvHst: 3, enterprise: 10 } as const

/** RFC 4120 §7.5.9 error codes the lab answers. */
export const KrbErrorCode = {
  KDC_ERR_C_PRINCIPAL_UNKNOWN: 6,
  KDC_ERR_S_PRINCIPAL_UNKNOWN: 7,
  KDC_ERR_NULL_KEY: 9,
  KDC_ERR_BADOPTION: 13,
  KDC_ERR_ETYPE_NOSUPP: 14,
  KDC_ERR_CLIENT_REVOKED: 18,
  KDC_ERR_KEY_EXPIRED: 23,
  KDC_ERR_PREAUTH_FAILED: 24,
  KDC_ERR_PREAUTH_REQUIRED: 25,
  KRB_AP_ERR_BAD_INTEGRITY: 31,
  KRB_AP_ERR_TKT_EXPIRED: 32,
  KRB_AP_ERR_REPEAT: 34,
  KRB_AP_ERR_SKEW: 37,
  KRB_AP_ERR_BADMATCH: 36,
  KRB_AP_ERR_MODIFIED: 41,
  KRB_AP_ERR_MSG_TYPE: 40,
  KRB_AP_ERR_INAPP_CKSUM: 50,
  KRB_ERR_RESPONSE_TOO_BIG: 52,
  KRB_ERR_GENERIC: 60,
  KRB_ERR_FIELD_TOOLONG: 61,
} as const
export const KRB_ERROR_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(KrbErrorCode).map(([k, v]) => [v, k]),
)

/** KDC options (RFC 4120 §5.4.1), bit 0 the most significant. */
export const KdcOption = {
  forwardable: 1 << 30,
  renewable: 1 << 23,
  canonicalize: 1 << 16,
  renewableOk: 1 << 4,
} as const

/** Ticket flags (RFC 4120 §5.3), bit 0 the most significant. */
export const TicketFlag = {
  forwardable: 1 << 30,
  proxiable: 1 << 28,
  renewable: 1 << 23,
  initial: 1 << 22,
  preAuthent: 1 << 21,
  okAsDelegate: 1 << 18,
} as const

export interface PrincipalName {
  readonly type: number
  readonly names: readonly string[]
}
export interface EncryptedData {
  readonly etype: number
  readonly kvno?: number
  readonly cipher: Uint8Array
}
export interface PaData {
  readonly type: number
  readonly value: Uint8Array
}
export interface EncryptionKey {
  readonly etype: number
  readonly bytes: Uint8Array
}
export interface Checksum {
  readonly type: number
  readonly value: Uint8Array
}

export interface Ticket {
  readonly realm: string
  readonly sname: PrincipalName
  readonly encPart: EncryptedData
}

export interface KdcReqBody {
  readonly options: number
  readonly cname?: PrincipalName
  readonly realm: string
  readonly sname?: PrincipalName
  readonly till: number
  /** The renew-till the client asks for (with the renewable option). */
  readonly rtime?: number
  readonly nonce: number
  readonly etypes: readonly number[]
}

export interface KdcReq {
  readonly msgType: typeof MsgType.asReq | typeof MsgType.tgsReq
  readonly padata: readonly PaData[]
  readonly body: KdcReqBody
  /** The body's DER as received. */
  readonly bodyRaw: Uint8Array
}

export interface KdcRep {
  readonly msgType: typeof MsgType.asRep | typeof MsgType.tgsRep
  readonly padata?: readonly PaData[]
  readonly crealm: string
  readonly cname: PrincipalName
  readonly ticket: Ticket
  readonly encPart: EncryptedData
}

export interface EncTicketPart {
  readonly flags: number
  readonly key: EncryptionKey
  readonly crealm: string
  readonly cname: PrincipalName
  readonly authtime: number
  readonly starttime?: number
  readonly endtime: number
  readonly renewTill?: number
}

export interface EncKdcRepPart {
  readonly key: EncryptionKey
  readonly nonce: number
  readonly flags: number
  readonly authtime: number
  readonly starttime?: number
  readonly endtime: number
  readonly renewTill?: number
  readonly srealm: string
  readonly sname: PrincipalName
}

export interface ApReq {
  readonly options: number
  readonly ticket: Ticket
  readonly authenticator: EncryptedData
}

export interface Authenticator {
  readonly crealm: string
  readonly cname: PrincipalName
  readonly cksum?: Checksum
  readonly cusec: number
  readonly ctime: number
  readonly subkey?: EncryptionKey
  readonly seqNumber?: number
}

export interface EncApRepPart {
  readonly ctime: number
  readonly cusec: number
  readonly subkey?: EncryptionKey
  readonly seqNumber?: number
}

export interface KrbError {
  readonly ctime?: number
  readonly stime: number
  readonly susec: number
  readonly errorCode: number
  readonly crealm?: string
  readonly cname?: PrincipalName
  readonly realm: string
  readonly sname: PrincipalName
  readonly eText?: string
  readonly eData?: Uint8Array
}

export interface EtypeInfo2Entry {
  readonly etype: number
  readonly salt?: string
}

function fail(message: string): never {
  throw new LabDecodeError('LAB_ERR_KRB5_DECODE', `Failed to decode a Kerberos message: ${message}.`, 0)
}

/** "HTTP/ca.contoso.test", "alice": a principal name as kinit and klist write it (realm apart). */
export const principalText = (p: PrincipalName): string => p.names.join('/')

// ------------------------------------------------------------------------------------------- pieces

const int = (n: number | undefined): Uint8Array | undefined => (n === undefined ? undefined : integer(n))
const time = (ms: number | undefined): Uint8Array | undefined =>
  ms === undefined ? undefined : generalizedTime(ms)

export const encodePrincipal = (p: PrincipalName): Uint8Array =>
  sequence(context(0, integer(p.type)), context(1, sequence(...p.names.map(generalString))))
export const decodePrincipal = (n: DerNode): PrincipalName => ({
  type: n.field(0, 'name-type').int('name-type'),
  names: n
    .field(1, 'name-string')
    .items('name-string')
    .map((s) => s.string('name-string')),
})

export const encodeEncryptedData = (e: EncryptedData): Uint8Array =>
  sequence(context(0, integer(e.etype)), context(1, int(e.kvno)), context(2, octetString(e.cipher)))
export const decodeEncryptedData = (n: DerNode): EncryptedData => {
  const kvno = n.optional(1)?.int('kvno')
  return {
    etype: n.field(0, 'etype').int('etype'),
    ...(kvno !== undefined ? { kvno } : {}),
    cipher: n.field(2, 'cipher').bytes('cipher'),
  }
}

const encodeKey = (k: EncryptionKey): Uint8Array =>
  sequence(context(0, integer(k.etype)), context(1, octetString(k.bytes)))
const decodeKey = (n: DerNode): EncryptionKey => ({
  etype: n.field(0, 'keytype').int('keytype'),
  bytes: n.field(1, 'keyvalue').bytes('keyvalue'),
})

const encodePaData = (p: PaData): Uint8Array =>
  sequence(context(1, integer(p.type)), context(2, octetString(p.value)))
const decodePaData = (n: DerNode): PaData => ({
  type: n.field(1, 'padata-type').int('padata-type'),
  value: n.field(2, 'padata-value').bytes('padata-value'),
})
export const encodeMethodData = (list: readonly PaData[]): Uint8Array => sequence(...list.map(encodePaData))
export const decodeMethodData = (buf: Uint8Array): PaData[] =>
  parseDer(buf).items('METHOD-DATA').map(decodePaData)

export const encodeTicket = (t: Ticket): Uint8Array =>
  application(
    1,
    sequence(
      context(0, integer(5)),
      context(1, generalString(t.realm)),
      context(2, encodePrincipal(t.sname)),
      context(3, encodeEncryptedData(t.encPart)),
    ),
  )
export const decodeTicketNode = (n: DerNode): Ticket => {
  const s = n.application(1, 'Ticket')
  return {
    realm: s.field(1, 'realm').string('realm'),
    sname: decodePrincipal(s.field(2, 'sname')),
    encPart: decodeEncryptedData(s.field(3, 'enc-part')),
  }
}

// ------------------------------------------------------------------------------------------- KDC-REQ

export function encodeKdcReqBody(b: KdcReqBody): Uint8Array {
  return sequence(
    context(0, bitString32(b.options)),
    context(1, b.cname && encodePrincipal(b.cname)),
    context(2, generalString(b.realm)),
    context(3, b.sname && encodePrincipal(b.sname)),
    context(5, generalizedTime(b.till)),
    context(6, time(b.rtime)),
    context(7, integer(b.nonce)),
    context(8, sequence(...b.etypes.map((e) => integer(e)))),
  )
}

export function encodeKdcReq(
  msgType: KdcReq['msgType'],
  padata: readonly PaData[],
  body: KdcReqBody,
): Uint8Array {
  return application(
    msgType,
    sequence(
      context(1, integer(5)),
      context(2, integer(msgType)),
      padata.length > 0 ? context(3, encodeMethodData(padata)) : undefined,
      context(4, encodeKdcReqBody(body)),
    ),
  )
}

function decodeKdcReq(node: DerNode, msgType: KdcReq['msgType']): KdcReq {
  const s = node.application(msgType, 'KDC-REQ')
  const pvno = s.field(1, 'pvno').int('pvno')
  if (pvno !== 5) fail(`pvno ${pvno}`)
  const b = s.field(4, 'req-body')
  const cname = b.optional(1)
  const sname = b.optional(3)
  const rtime = b.optional(6)?.time('rtime')
  return {
    msgType,
    padata: s.optional(3)?.items('padata').map(decodePaData) ?? [],
    bodyRaw: b.raw,
    body: {
      options: b.field(0, 'kdc-options').bits32('kdc-options'),
      ...(cname ? { cname: decodePrincipal(cname) } : {}),
      realm: b.field(2, 'realm').string('realm'),
      ...(sname ? { sname: decodePrincipal(sname) } : {}),
      till: b.field(5, 'till').time('till'),
      ...(rtime !== undefined ? { rtime } : {}),
      nonce: b.field(7, 'nonce').int('nonce'),
      etypes: b
        .field(8, 'etype')
        .items('etype')
        .map((e) => e.int('etype')),
    },
  }
}

// ------------------------------------------------------------------------------------------- KDC-REP

export function encodeKdcRep(r: KdcRep): Uint8Array {
  return application(
    r.msgType,
    sequence(
      context(0, integer(5)),
      context(1, integer(r.msgType)),
      r.padata && r.padata.length > 0 ? context(2, encodeMethodData(r.padata)) : undefined,
      context(3, generalString(r.crealm)),
      context(4, encodePrincipal(r.cname)),
      context(5, encodeTicket(r.ticket)),
      context(6, encodeEncryptedData(r.encPart)),
    ),
  )
}

function decodeKdcRep(node: DerNode, msgType: KdcRep['msgType']): KdcRep {
  const s = node.application(msgType, 'KDC-REP')
  return {
    msgType,
    padata: s.optional(2)?.items('padata').map(decodePaData) ?? [],
    crealm: s.field(3, 'crealm').string('crealm'),
    cname: decodePrincipal(s.field(4, 'cname')),
    ticket: decodeTicketNode(s.field(5, 'ticket')),
    encPart: decodeEncryptedData(s.field(6, 'enc-part')),
  }
}

export function encodeEncTicketPart(t: EncTicketPart): Uint8Array {
  return application(
    3,
    sequence(
      context(0, bitString32(t.flags)),
      context(1, encodeKey(t.key)),
      context(2, generalString(t.crealm)),
      context(3, encodePrincipal(t.cname)),
      context(4, sequence(context(0, integer(1)), context(1, octetString(new Uint8Array())))),
      context(5, generalizedTime(t.authtime)),
      context(6, time(t.starttime)),
      context(7, generalizedTime(t.endtime)),
      context(8, time(t.renewTill)),
    ),
  )
}

export function decodeEncTicketPart(buf: Uint8Array): EncTicketPart {
  const s = parseDer(buf).application(3, 'EncTicketPart')
  const starttime = s.optional(6)?.time('starttime')
  const renewTill = s.optional(8)?.time('renew-till')
  return {
    flags: s.field(0, 'flags').bits32('flags'),
    key: decodeKey(s.field(1, 'key')),
    crealm: s.field(2, 'crealm').string('crealm'),
    cname: decodePrincipal(s.field(3, 'cname')),
    authtime: s.field(5, 'authtime').time('authtime'),
    ...(starttime !== undefined ? { starttime } : {}),
    endtime: s.field(7, 'endtime').time('endtime'),
    ...(renewTill !== undefined ? { renewTill } : {}),
  }
}

/** EncASRepPart is [APPLICATION 25], EncTGSRepPart [APPLICATION 26] (RFC 4120 §5.4.2). */
export function encodeEncKdcRepPart(tag: 25 | 26, p: EncKdcRepPart): Uint8Array {
  return application(
    tag,
    sequence(
      context(0, encodeKey(p.key)),
      // last-req: one entry of type 0 ("no information"), as AD sends.
      context(1, sequence(sequence(context(0, integer(0)), context(1, generalizedTime(p.authtime))))),
      context(2, integer(p.nonce)),
      context(4, bitString32(p.flags)),
      context(5, generalizedTime(p.authtime)),
      context(6, time(p.starttime)),
      context(7, generalizedTime(p.endtime)),
      context(8, time(p.renewTill)),
      context(9, generalString(p.srealm)),
      context(10, encodePrincipal(p.sname)),
    ),
  )
}

export function decodeEncKdcRepPart(buf: Uint8Array): EncKdcRepPart {
  const top = parseDer(buf)
  // Clients accept either tag for either reply (MIT does; Windows has sent 26 for AS replies).
  const s = top.tag === 0x79 ? top.application(25, 'EncASRepPart') : top.application(26, 'EncTGSRepPart')
  const starttime = s.optional(6)?.time('starttime')
  const renewTill = s.optional(8)?.time('renew-till')
  return {
    key: decodeKey(s.field(0, 'key')),
    nonce: s.field(2, 'nonce').int('nonce'),
    flags: s.field(4, 'flags').bits32('flags'),
    authtime: s.field(5, 'authtime').time('authtime'),
    ...(starttime !== undefined ? { starttime } : {}),
    endtime: s.field(7, 'endtime').time('endtime'),
    ...(renewTill !== undefined ? { renewTill } : {}),
    srealm: s.field(9, 'srealm').string('srealm'),
    sname: decodePrincipal(s.field(10, 'sname')),
  }
}

// ------------------------------------------------------------------------------------------- AP

export function encodeApReq(r: ApReq): Uint8Array {
  return application(
    14,
    sequence(
      context(0, integer(5)),
      context(1, integer(MsgType.apReq)),
      context(2, bitString32(r.options)),
      context(3, encodeTicket(r.ticket)),
      context(4, encodeEncryptedData(r.authenticator)),
    ),
  )
}

export function decodeApReqNode(node: DerNode): ApReq {
  const s = node.application(14, 'AP-REQ')
  return {
    options: s.field(2, 'ap-options').bits32('ap-options'),
    ticket: decodeTicketNode(s.field(3, 'ticket')),
    authenticator: decodeEncryptedData(s.field(4, 'authenticator')),
  }
}

export const decodeApReq = (buf: Uint8Array): ApReq => decodeApReqNode(parseDer(buf))

export function encodeAuthenticator(a: Authenticator): Uint8Array {
  return application(
    2,
    sequence(
      context(0, integer(5)),
      context(1, generalString(a.crealm)),
      context(2, encodePrincipal(a.cname)),
      context(
        3,
        a.cksum && sequence(context(0, integer(a.cksum.type)), context(1, octetString(a.cksum.value))),
      ),
      context(4, integer(a.cusec)),
      context(5, generalizedTime(a.ctime)),
      context(6, a.subkey && encodeKey(a.subkey)),
      context(7, int(a.seqNumber)),
    ),
  )
}

export function decodeAuthenticator(buf: Uint8Array): Authenticator {
  const s = parseDer(buf).application(2, 'Authenticator')
  const c = s.optional(3)
  const subkey = s.optional(6)
  const seqNumber = s.optional(7)?.int('seq-number')
  return {
    crealm: s.field(1, 'crealm').string('crealm'),
    cname: decodePrincipal(s.field(2, 'cname')),
    ...(c
      ? {
          cksum: {
            type: c.field(0, 'cksumtype').int('cksumtype'),
            value: c.field(1, 'checksum').bytes('checksum'),
          },
        }
      : {}),
    cusec: s.field(4, 'cusec').int('cusec'),
    ctime: s.field(5, 'ctime').time('ctime'),
    ...(subkey ? { subkey: decodeKey(subkey) } : {}),
    ...(seqNumber !== undefined ? { seqNumber } : {}),
  }
}

export function encodeApRep(encPart: EncryptedData): Uint8Array {
  return application(
    15,
    sequence(
      context(0, integer(5)),
      context(1, integer(MsgType.apRep)),
      context(2, encodeEncryptedData(encPart)),
    ),
  )
}

export const decodeApRep = (buf: Uint8Array): EncryptedData =>
  decodeEncryptedData(parseDer(buf).application(15, 'AP-REP').field(2, 'enc-part'))

export function encodeEncApRepPart(p: EncApRepPart): Uint8Array {
  return application(
    27,
    sequence(
      context(0, generalizedTime(p.ctime)),
      context(1, integer(p.cusec)),
      context(2, p.subkey && encodeKey(p.subkey)),
      context(3, int(p.seqNumber)),
    ),
  )
}

export function decodeEncApRepPart(buf: Uint8Array): EncApRepPart {
  const s = parseDer(buf).application(27, 'EncAPRepPart')
  const subkey = s.optional(2)
  const seqNumber = s.optional(3)?.int('seq-number')
  return {
    ctime: s.field(0, 'ctime').time('ctime'),
    cusec: s.field(1, 'cusec').int('cusec'),
    ...(subkey ? { subkey: decodeKey(subkey) } : {}),
    ...(seqNumber !== undefined ? { seqNumber } : {}),
  }
}

// ------------------------------------------------------------------------------------------- errors, padata

export function encodeKrbError(e: KrbError): Uint8Array {
  return application(
    30,
    sequence(
      context(0, integer(5)),
      context(1, integer(MsgType.error)),
      context(2, time(e.ctime)),
      context(4, generalizedTime(e.stime)),
      context(5, integer(e.susec)),
      context(6, integer(e.errorCode)),
      context(7, e.crealm === undefined ? undefined : generalString(e.crealm)),
      context(8, e.cname && encodePrincipal(e.cname)),
      context(9, generalString(e.realm)),
      context(10, encodePrincipal(e.sname)),
      context(11, e.eText === undefined ? undefined : generalString(e.eText)),
      context(12, e.eData && octetString(e.eData)),
    ),
  )
}

function decodeKrbError(node: DerNode): KrbError {
  const s = node.application(30, 'KRB-ERROR')
  const eText = s.optional(11)?.string('e-text')
  const eData = s.optional(12)?.bytes('e-data')
  const crealm = s.optional(7)?.string('crealm')
  const cname = s.optional(8)
  return {
    stime: s.field(4, 'stime').time('stime'),
    susec: s.field(5, 'susec').int('susec'),
    errorCode: s.field(6, 'error-code').int('error-code'),
    ...(crealm !== undefined ? { crealm } : {}),
    ...(cname ? { cname: decodePrincipal(cname) } : {}),
    realm: s.field(9, 'realm').string('realm'),
    sname: decodePrincipal(s.field(10, 'sname')),
    ...(eText !== undefined ? { eText } : {}),
    ...(eData !== undefined ? { eData } : {}),
  }
}

/** PA-ENC-TS-ENC (RFC 4120 §5.2.7.2): the client's time, encrypted with its key (usage 1). */
export const encodePaEncTsEnc = (ms: number, usec: number): Uint8Array =>
  sequence(context(0, generalizedTime(ms)), context(1, integer(usec)))
export function decodePaEncTsEnc(buf: Uint8Array): { time: number; usec: number } {
  const s = parseDer(buf)
  return { time: s.field(0, 'patimestamp').time('patimestamp'), usec: s.optional(1)?.int('pausec') ?? 0 }
}

export const encodeEtypeInfo2 = (entries: readonly EtypeInfo2Entry[]): Uint8Array =>
  sequence(
    ...entries.map((e) =>
      sequence(
        context(0, integer(e.etype)),
        context(1, e.salt === undefined ? undefined : generalString(e.salt)),
      ),
    ),
  )
export const decodeEtypeInfo2 = (buf: Uint8Array): EtypeInfo2Entry[] =>
  parseDer(buf)
    .items('ETYPE-INFO2')
    .map((e) => {
      const salt = e.optional(1)?.string('salt')
      return { etype: e.field(0, 'etype').int('etype'), ...(salt !== undefined ? { salt } : {}) }
    })

// ------------------------------------------------------------------------------------------- any message

export type KerberosMessage =
  | { readonly kind: 'as-req' | 'tgs-req'; readonly req: KdcReq }
  | { readonly kind: 'as-rep' | 'tgs-rep'; readonly rep: KdcRep }
  | { readonly kind: 'ap-req'; readonly ap: ApReq }
  | { readonly kind: 'error'; readonly error: KrbError }

/** Any message a KDC or a client receives, by its application tag. */
export function decodeKerberos(buf: Uint8Array): KerberosMessage {
  const node = parseDer(buf)
  switch (node.tag) {
    case 0x6a:
      return { kind: 'as-req', req: decodeKdcReq(node, MsgType.asReq) }
    case 0x6c:
      return { kind: 'tgs-req', req: decodeKdcReq(node, MsgType.tgsReq) }
    case 0x6b:
      return { kind: 'as-rep', rep: decodeKdcRep(node, MsgType.asRep) }
    case 0x6d:
      return { kind: 'tgs-rep', rep: decodeKdcRep(node, MsgType.tgsRep) }
    case 0x6e:
      return { kind: 'ap-req', ap: decodeApReqNode(node) }
    case 0x7e:
      return { kind: 'error', error: decodeKrbError(node) }
    default:
      return fail(`application tag 0x${node.tag.toString(16)} is not a message the lab takes`)
  }
}
