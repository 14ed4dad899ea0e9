import { describeLogon, logon } from '../../core/auth/logon.js'
import { parseDer } from '../../core/der.js'
import { ETYPE_NAMES, checksum, decrypt, encrypt, randomKey, type Key } from '../../core/auth/krb5/crypto.js'
import {
  KdcOption,
  KrbErrorCode,
  MsgType,
  PaType,
  TicketFlag,
  decodeApReq,
  decodeAuthenticator,
  decodeEncTicketPart,
  decodeEncryptedData,
  decodePaEncTsEnc,
  encodeEncKdcRepPart,
  encodeEncTicketPart,
  encodeEtypeInfo2,
  encodeKdcRep,
  encodeKrbError,
  encodeMethodData,
  principalText,
  type EncTicketPart,
  type KdcReq,
  type PaData,
  type PrincipalName,
} from '../../core/auth/krb5/messages.js'
import {
  SERVICE_KVNO,
  USER_KVNO,
  type KerberosRealm,
  type RealmPrincipal,
} from '../../core/auth/krb5/realm.js'
import { LabDecodeError } from '../../core/errors.js'

/**
 * What the KDC double answers, pure apart from fresh session keys: the AS exchange with PA-ENC-TIMESTAMP
 * pre-authentication as AD requires it, and the TGS exchange (RFC 4120 §3.1, §3.3; MS-KILE for AD's
 * choices). Errors are the KRB-ERRORs a client meets in practice; time is the lab clock's.
 */

export interface KdcContext {
  readonly realm: KerberosRealm
  /** Encryption types the lab offers, strongest first. */
  readonly etypes: readonly number[]
  readonly nowMs: number
  /** Kerberos's tolerance for clock skew (5 minutes in AD's default policy). */
  readonly maxSkewMs: number
  /** Ticket lifetime (AD's default policy: 10 hours). */
  readonly ticketLifetimeMs: number
}

export interface KdcOutcome {
  readonly reply: Uint8Array
  readonly msg: 'AS' | 'TGS'
  /** The client and the service, as `name@REALM` and `service/host`. */
  readonly principal: string
  readonly service: string
  readonly offered: readonly number[]
  readonly chosen?: number
  /** The KRB-ERROR sent, by name; undefined for a ticket. */
  readonly error?: string
  readonly why: string
}

const usec = (ms: number): number => Math.floor((ms % 1000) * 1000)

/** A KRB-ERROR reply in the KDC's words. */
export function krbError(
  ctx: KdcContext,
  code: number,
  sname: PrincipalName,
  extra: { cname?: PrincipalName; eText?: string; eData?: Uint8Array } = {},
): Uint8Array {
  return encodeKrbError({
    stime: ctx.nowMs,
    susec: usec(ctx.nowMs),
    errorCode: code,
    realm: ctx.realm.name,
    sname,
    ...(extra.cname ? { crealm: ctx.realm.name, cname: extra.cname } : {}),
    ...(extra.eText !== undefined ? { eText: extra.eText } : {}),
    ...(extra.eData ? { eData: extra.eData } : {}),
  })
}

const errorName = (code: number): string =>
  Object.entries(KrbErrorCode).find(([, v]) => v === code)?.[0] ?? `error ${code}`

/** The first of the client's encryption types that the lab offers (the client lists its preference first). */
function commonEtype(ctx: KdcContext, wanted: readonly number[]): number | undefined {
  return wanted.find((e) => ctx.etypes.includes(e))
}

/** Where the pre-authentication data says how to make the key: PA-ENC-TIMESTAMP and ETYPE-INFO2 (salts). */
function preauthMethods(ctx: KdcContext, client: RealmPrincipal, wanted: readonly number[]): Uint8Array {
  const user = client.user!
  const entries = wanted
    .filter((e) => ctx.etypes.includes(e))
    .map((etype) => (etype === 23 ? { etype } : { etype, salt: ctx.realm.saltOf(user) }))
  const methods: PaData[] = [
    { type: PaType.encTimestamp, value: new Uint8Array() },
    { type: PaType.etypeInfo2, value: encodeEtypeInfo2(entries) },
  ]
  return encodeMethodData(methods)
}

/** Issues a ticket for `service` to `cname` and the reply around it. */
function issue(
  ctx: KdcContext,
  req: KdcReq,
  cname: PrincipalName,
  service: RealmPrincipal,
  sname: PrincipalName,
  sessionEtype: number,
  replyKey: Key,
  replyUsage: number,
  authtime: number,
): Uint8Array {
  const session = randomKey(sessionEtype)
  const endtime = Math.min(req.body.till || Infinity, ctx.nowMs + ctx.ticketLifetimeMs)
  // Renewable only when asked (RFC 4120 §3.1.3): up to the rtime asked, at most 7 days (AD's policy).
  const renewable = (req.body.options & KdcOption.renewable) !== 0
  const renewTill = renewable ? Math.min(req.body.rtime || Infinity, ctx.nowMs + 7 * 86_400_000) : undefined
  const flags =
    TicketFlag.forwardable |
    (renewable ? TicketFlag.renewable : 0) |
    TicketFlag.preAuthent |
    (req.msgType === MsgType.asReq ? TicketFlag.initial : 0)
  const part: EncTicketPart = {
    flags,
    key: session,
    crealm: ctx.realm.name,
    cname,
    authtime,
    starttime: ctx.nowMs,
    endtime,
    ...(renewTill !== undefined ? { renewTill } : {}),
  }
  // The ticket is sealed in the service's strongest key the lab offers (AD: the account's newest key).
  const serviceKey = ctx.realm.keyOf(service, ctx.etypes[0]!)
  const ticket = {
    realm: ctx.realm.name,
    sname,
    encPart: {
      etype: serviceKey.etype,
      kvno: SERVICE_KVNO,
      cipher: encrypt(serviceKey, 2, encodeEncTicketPart(part)),
    },
  }
  const encPart = encodeEncKdcRepPart(req.msgType === MsgType.asReq ? 25 : 26, {
    key: session,
    nonce: req.body.nonce,
    flags,
    authtime,
    starttime: ctx.nowMs,
    endtime,
    ...(renewTill !== undefined ? { renewTill } : {}),
    srealm: ctx.realm.name,
    sname,
  })
  return encodeKdcRep({
    msgType: req.msgType === MsgType.asReq ? MsgType.asRep : MsgType.tgsRep,
    crealm: ctx.realm.name,
    cname,
    ticket,
    encPart: {
      etype: replyKey.etype,
      ...(req.msgType === MsgType.asReq ? { kvno: USER_KVNO } : {}),
      cipher: encrypt(replyKey, replyUsage, encPart),
    },
  })
}

/** The AS exchange: a TGT (or a ticket to the service named) for a user who proves the password. */
export function answerAs(req: KdcReq, ctx: KdcContext): KdcOutcome {
  const { body } = req
  const sname = body.sname ?? ctx.realm.krbtgt
  const base = {
    msg: 'AS' as const,
    principal: `${body.cname ? principalText(body.cname) : '?'}@${body.realm}`,
    service: principalText(sname),
    offered: body.etypes,
  }
  const fail = (code: number, why: string, extra: Parameters<typeof krbError>[3] = {}): KdcOutcome => ({
    ...base,
    reply: krbError(ctx, code, sname, extra),
    error: errorName(code),
    why,
  })
  const client = body.cname && ctx.realm.find(body.cname)
  if (!body.cname || !client || client.kind !== 'user')
    return fail(KrbErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN, 'no such user in the realm')
  const service = ctx.realm.find(sname)
  if (!service)
    return fail(KrbErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN, `no service principal ${principalText(sname)}`)
  const etype = commonEtype(ctx, body.etypes)
  if (etype === undefined)
    return fail(
      KrbErrorCode.KDC_ERR_ETYPE_NOSUPP,
      `none of the client's etypes is offered (lab: ${ctx.etypes.map((e) => ETYPE_NAMES[e]).join(', ')})`,
    )
  const stamp = req.padata.find((p) => p.type === PaType.encTimestamp)
  if (!stamp)
    return fail(KrbErrorCode.KDC_ERR_PREAUTH_REQUIRED, 'pre-authentication required (ETYPE-INFO2 sent)', {
      eData: preauthMethods(ctx, client, body.etypes),
    })
  let ts: { time: number; usec: number }
  let encEtype: number
  try {
    const enc = decodeEncryptedTimestamp(stamp.value)
    encEtype = enc.etype
    if (!ctx.etypes.includes(enc.etype))
      throw new LabDecodeError('LAB_ERR_KRB5_CRYPTO', 'etype not offered', 0)
    ts = decodePaEncTsEnc(decrypt(ctx.realm.keyOf(client, enc.etype), 1, enc.cipher))
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    // Password first, then the account (ADR 0014): a wrong password hides everything else.
    return fail(
      KrbErrorCode.KDC_ERR_PREAUTH_FAILED,
      `pre-authentication failed: ${describeLogon(logon(client.user, false))}`,
    )
  }
  const skew = ts.time - ctx.nowMs
  if (Math.abs(skew) > ctx.maxSkewMs)
    return fail(
      KrbErrorCode.KRB_AP_ERR_SKEW,
      `the client's clock is ${Math.round(skew / 1000)} s off the KDC's`,
    )
  const dc = logon(client.user, true)
  if (dc.status === 'STATUS_ACCOUNT_DISABLED')
    return fail(KrbErrorCode.KDC_ERR_CLIENT_REVOKED, 'the account is disabled')
  if (dc.status === 'STATUS_PASSWORD_EXPIRED')
    return fail(KrbErrorCode.KDC_ERR_KEY_EXPIRED, 'the password has expired')
  const replyKey = ctx.realm.keyOf(client, encEtype)
  return {
    ...base,
    chosen: etype,
    why: `ticket for ${principalText(sname)}, session key ${ETYPE_NAMES[etype]}, reply in ${ETYPE_NAMES[encEtype]}`,
    reply: issue(ctx, req, client.name, service, sname, etype, replyKey, 3, ctx.nowMs),
  }
}

/** PA-ENC-TIMESTAMP's value is an EncryptedData (RFC 4120 §5.2.7.2). */
const decodeEncryptedTimestamp = (b: Uint8Array): { etype: number; cipher: Uint8Array } =>
  decodeEncryptedData(parseDer(b))

/** The TGS exchange: a service ticket for the holder of a TGT (PA-TGS-REQ: an AP-REQ with it). */
export function answerTgs(req: KdcReq, ctx: KdcContext): KdcOutcome {
  const { body } = req
  const sname = body.sname ?? ctx.realm.krbtgt
  const base = { msg: 'TGS' as const, principal: '?', service: principalText(sname), offered: body.etypes }
  const fail = (code: number, why: string, principal = '?'): KdcOutcome => ({
    ...base,
    principal,
    reply: krbError(ctx, code, sname),
    error: errorName(code),
    why,
  })
  const tgsReq = req.padata.find((p) => p.type === PaType.tgsReq)
  if (!tgsReq) return fail(KrbErrorCode.KDC_ERR_BADOPTION, 'no PA-TGS-REQ')
  let tgt: EncTicketPart
  let authenticator
  try {
    const ap = decodeApReq(tgsReq.value)
    const krbtgt = ctx.realm.find(ap.ticket.sname)
    if (krbtgt?.kind !== 'krbtgt')
      return fail(KrbErrorCode.KDC_ERR_BADOPTION, 'the PA-TGS-REQ ticket is not a TGT')
    tgt = decodeEncTicketPart(
      decrypt(ctx.realm.keyOf(krbtgt, ap.ticket.encPart.etype), 2, ap.ticket.encPart.cipher),
    )
    authenticator = decodeAuthenticator(decrypt(tgt.key, 7, ap.authenticator.cipher))
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return fail(
      KrbErrorCode.KRB_AP_ERR_BAD_INTEGRITY,
      `the TGT or its authenticator does not open: ${err.message}`,
    )
  }
  const who = `${principalText(tgt.cname)}@${tgt.crealm}`
  if (principalText(authenticator.cname).toLowerCase() !== principalText(tgt.cname).toLowerCase())
    return fail(KrbErrorCode.KRB_AP_ERR_BADMATCH, 'the authenticator names another client', who)
  if (tgt.endtime < ctx.nowMs) return fail(KrbErrorCode.KRB_AP_ERR_TKT_EXPIRED, 'the TGT has expired', who)
  const skew = authenticator.ctime - ctx.nowMs
  if (Math.abs(skew) > ctx.maxSkewMs)
    return fail(
      KrbErrorCode.KRB_AP_ERR_SKEW,
      `the client's clock is ${Math.round(skew / 1000)} s off the KDC's`,
      who,
    )
  // RFC 4120 §5.4.1: a TGS-REQ's authenticator must carry a keyed checksum over the request body.
  if (!authenticator.cksum)
    return fail(
      KrbErrorCode.KRB_AP_ERR_INAPP_CKSUM,
      'the authenticator carries no checksum of the request',
      who,
    )
  const expected = checksum(tgt.key, 6, req.bodyRaw)
  if (
    expected.type !== authenticator.cksum.type ||
    !Buffer.from(expected.value).equals(Buffer.from(authenticator.cksum.value))
  )
    return fail(KrbErrorCode.KRB_AP_ERR_MODIFIED, 'the request body does not match its checksum', who)
  const service = ctx.realm.find(sname)
  if (!service)
    return fail(KrbErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN, `no service principal ${principalText(sname)}`, who)
  const etype = commonEtype(ctx, body.etypes)
  if (etype === undefined)
    return fail(KrbErrorCode.KDC_ERR_ETYPE_NOSUPP, 'none of the client etypes is offered', who)
  const [replyKey, usage] = authenticator.subkey ? [authenticator.subkey, 9] : [tgt.key, 8]
  return {
    ...base,
    principal: who,
    chosen: etype,
    why: `ticket for ${principalText(sname)}, session key ${ETYPE_NAMES[etype]}`,
    reply: issue(ctx, req, tgt.cname, service, sname, etype, replyKey, usage, tgt.authtime),
  }
}
