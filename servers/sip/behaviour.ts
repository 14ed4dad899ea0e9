import { createHash, randomBytes } from 'node:crypto'
import { ntlmLogon } from '../../core/auth/http.js'
import { describeLogon, logon } from '../../core/auth/logon.js'
import { acceptApReq, type ReplayCache } from '../../core/auth/krb5/acceptor.js'
import { NameType } from '../../core/auth/krb5/messages.js'
import type { KerberosRealm } from '../../core/auth/krb5/realm.js'
import { readKrb5Token } from '../../core/auth/spnego.js'
import { LabDecodeError } from '../../core/errors.js'
import {
  connectionlessChallenge,
  decodeNtlm,
  newServerChallenge,
  serverSessionKeys,
} from '../../core/auth/ntlm.js'
import type { Site, User } from '../../core/site.js'
import { SipHeaders, paramOf, parseAuthParams, uriOf, type SipRequest, type SipResponse } from './codec.js'
import { gruuOpaque } from './instance.js'
import { provisioningV1, provisioningV2, roamingSelf, type ProvisioningInput } from './provisioning.js'
import type { SipConfig } from './schema.js'
import { signature, verifySignature, type NtlmAssociation } from './signing.js'

/**
 * The OCS 2007 R2 front end's behaviour, pure apart from the random challenges: REGISTER with MS-SIP NTLM
 * (MS-SIPAE: a first 401 offering NTLM and Kerberos, then the connectionless NTLM exchange keyed by
 * `opaque`, then 200 with Expires 900), SUBSCRIBE to in-band provisioning and the self categories, and the
 * small answers a registrar gives everything else (spec §2.7–2.8).
 */

export const REALM = 'SIP Communications Service'
export const SERVER_HEADER = 'RTC/3.5'
const ALLOW_EVENTS =
  'vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,vnd-microsoft-roaming-ACL,presence,presence.wpending,vnd-microsoft-roaming-self,vnd-microsoft-provisioning-v2'

export interface SipSlice {
  readonly block: SipConfig
  readonly site: Site
  readonly users: readonly User[]
  /** The pool's name (the host with the pool role). */
  readonly pool: string
}

/** What the registrar needs besides the request. */
export interface SipContext {
  readonly slice: SipSlice
  readonly now: Date
  /** The URLs of the lab's HTTP doubles (with their real ports). */
  readonly urls: { readonly dus?: ProvisioningInput['dus']; readonly abs: ProvisioningInput['abs'] }
  /** A fault signing the answer wrongly, or not at all (what a phone must refuse or ignore). */
  readonly signature?: 'wrong' | 'missing'
  /** A fault changing the provisioning answer. */
  readonly provisioning?: 'empty' | 'no-dus' | 'no-email'
  /** What a Kerberos token is checked against (sip/<pool>'s key, the replay cache); without it, refused. */
  readonly krb5?: { readonly realm: KerberosRealm; readonly replay: ReplayCache }
}

/** One connection's state: who registered on it, and how the pool names the connection. */
export interface SipConnection {
  user?: User
  contact?: string
  /** The peer's port and the connection's id, which OCS writes into Via and Contact (`ms-received-*`). */
  received?: { readonly port: number; readonly cid: string }
}

/** What a REGISTER that succeeded asks of the registrar: keep `contact` for `expires` seconds (0: remove). */
export interface RegistrationChange {
  readonly user: string
  readonly contact: string
  readonly expires: number
}

/**
 * One connection's NTLM security associations by `opaque` (connectionless NTLM spans requests), and its
 * Digest nonces.
 */
export class SecurityAssociations {
  readonly #ntlm = new Map<string, Uint8Array>()
  readonly #nonces = new Set<string>()
  readonly #users = new Map<
    string,
    { user: string; sa?: NtlmAssociation; unchecked?: string; snum: number }
  >()
  /** Per connection: a phone has one or two associations; a flood of unfinished handshakes keeps the last 64. */
  static readonly MAX = 64

  newNtlm(): { opaque: string; challenge: Uint8Array } {
    const opaque = randomBytes(4).toString('hex').toUpperCase()
    const challenge = newServerChallenge()
    if (this.#ntlm.size >= SecurityAssociations.MAX) this.#ntlm.delete(this.#ntlm.keys().next().value!)
    this.#ntlm.set(opaque, challenge)
    return { opaque, challenge }
  }
  takeNtlm(opaque: string): Uint8Array | undefined {
    const c = this.#ntlm.get(opaque)
    this.#ntlm.delete(opaque)
    return c
  }
  /**
   * Marks an association as the user's, once its AUTHENTICATE was verified; later messages are signed on it
   * with its keys (known for NTLMv2).
   */
  authenticated(opaque: string, user: string, sa?: NtlmAssociation, unchecked = 'NTLMv1 keys'): void {
    if (this.#users.size >= SecurityAssociations.MAX) this.#users.delete(this.#users.keys().next().value!)
    this.#users.set(opaque, { user, snum: 0, ...(sa ? { sa } : { unchecked }) })
  }
  /** The next `snum` of the server's signatures on this association (1 for the REGISTER's 200). */
  nextSnum(opaque: string): number {
    const entry = this.#users.get(opaque)
    if (!entry) return 1
    entry.snum++
    return entry.snum
  }
  /** Why signatures on this association are not checked (no key the lab checks them with). */
  uncheckedWhy(opaque: string): string | undefined {
    return this.#users.get(opaque)?.unchecked
  }
  userOf(opaque: string): string | undefined {
    return this.#users.get(opaque)?.user
  }
  associationOf(opaque: string): NtlmAssociation | undefined {
    return this.#users.get(opaque)?.sa
  }
  newNonce(): string {
    const nonce = randomBytes(16).toString('hex')
    if (this.#nonces.size >= SecurityAssociations.MAX)
      this.#nonces.delete(this.#nonces.values().next().value!)
    this.#nonces.add(nonce)
    return nonce
  }
  knowsNonce(nonce: string): boolean {
    return this.#nonces.has(nonce)
  }
}

export interface SipOutcome {
  readonly response: SipResponse
  /** For the journal: what happened, in words, and the user if known. */
  readonly summary: string
  readonly user?: string
  readonly event?: string
  /** For the registrar: a registration made, refreshed or removed. */
  readonly registration?: RegistrationChange
}

const toTag = (callId: string): string => createHash('sha1').update(callId).digest('hex').slice(0, 10)

/** A response to a request, with the dialog headers copied as RFC 3261 §8.2.6 says. */
export function respond(
  req: SipRequest,
  status: number,
  reason: string,
  extra: readonly (readonly [string, string])[] = [],
  body?: { readonly type: string; readonly text: string },
): SipResponse {
  const h = new SipHeaders()
  for (const v of req.headers.all('via')) h.add('Via', v)
  const from = req.headers.get('from')
  const to = req.headers.get('to')
  if (from !== undefined) h.add('From', from)
  if (to !== undefined)
    h.add(
      'To',
      status > 100 && paramOf(to, 'tag') === undefined
        ? `${to};tag=${toTag(req.headers.get('call-id') ?? '')}`
        : to,
    )
  const callId = req.headers.get('call-id')
  if (callId !== undefined) h.add('Call-ID', callId)
  const cseq = req.headers.get('cseq')
  if (cseq !== undefined) h.add('CSeq', cseq)
  for (const [n, v] of extra) h.add(n, v)
  h.add('Server', SERVER_HEADER)
  if (body) h.add('Content-Type', body.type)
  return { kind: 'response', status, reason, headers: h, body: Buffer.from(body?.text ?? '', 'utf8') }
}

const quoted = (params: Readonly<Record<string, string | number>>): string =>
  Object.entries(params)
    .map(([k, v]) => (typeof v === 'number' ? `${k}=${v}` : `${k}="${v}"`))
    .join(', ')

/**
 * The authentication protocol version the pool offers: 4, as OCS 2007 R2 does (the final AUTHENTICATE must
 * then be signed too: Microsoft's note on the UCC API update, "Challenge responses that use version 4 of the
 * protocol must contain a signature").
 */
export const OFFERED_VERSION = 4

/** The challenge's status and header: 401 WWW-Authenticate or 407 Proxy-Authenticate (the `challenge` knob). */
function challengeOf(ctx: SipContext): { status: number; reason: string; header: string } {
  return ctx.slice.block.challenge === '407'
    ? { status: 407, reason: 'Proxy Authentication Required', header: 'Proxy-Authenticate' }
    : { status: 401, reason: 'Unauthorized', header: 'WWW-Authenticate' }
}

/** The first challenge: the schemes the pool accepts (MS-SIPAE §3.2.5.1.1). */
function challengeAll(req: SipRequest, ctx: SipContext, sas: SecurityAssociations, why: string): SipOutcome {
  const { block, pool } = ctx.slice
  const c = challengeOf(ctx)
  const offers: [string, string][] = []
  if (block.authentication === 'digest') {
    offers.push([
      c.header,
      `Digest ${quoted({ realm: REALM, nonce: sas.newNonce(), qop: 'auth', algorithm: 'MD5' }).replace('algorithm="MD5"', 'algorithm=MD5')}`,
    ])
  } else {
    offers.push([c.header, `NTLM ${quoted({ realm: REALM, targetname: pool, version: OFFERED_VERSION })}`])
    if (block.offerKerberos)
      offers.push([
        c.header,
        `Kerberos ${quoted({ realm: REALM, targetname: `sip/${pool}`, version: OFFERED_VERSION })}`,
      ])
  }
  return { response: respond(req, c.status, c.reason, offers), summary: `${c.status}: ${why}` }
}

function digestOk(
  req: SipRequest,
  user: User,
  p: Record<string, string>,
  sas: SecurityAssociations,
): boolean {
  if (!p.nonce || !sas.knowsNonce(p.nonce) || !p.response) return false
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex')
  const ha1 = md5(`${p.username ?? ''}:${REALM}:${user.password}`)
  const ha2 = md5(`${req.method}:${p.uri ?? req.uri}`)
  const expected =
    p.qop === undefined
      ? md5(`${ha1}:${p.nonce}:${ha2}`)
      : md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`)
  return expected === p.response
}

/** The user a request's From (or To, for REGISTER) names. */
function userOfRequest(req: SipRequest, users: readonly User[]): { aor: string; user: User | undefined } {
  const aor = uriOf(req.method === 'REGISTER' ? req.headers.get('to') : req.headers.get('from'))
    .replace(/^sips?:/i, '')
    .toLowerCase()
  return { aor, user: users.find((u) => u.signInAddress === aor) }
}

/** Good credentials, but another user's than the URI names: OCS refuses them ([MS-OCER] 4004). */
function notThisUser(req: SipRequest, user: User, summary: string): SipOutcome {
  return {
    response: respond(req, 403, 'Forbidden', [
      [
        'ms-diagnostics-public',
        '4004;reason="Credentials provided are not authorized to act as specified from URI"',
      ],
    ]),
    summary,
    user: user.signInAddress,
  }
}

/**
 * A request the pool accepted: who, how (for the journal), headers for the answer, and the NTLM security
 * association whose server keys sign the answer (MS-SIPAE §3.2.5.4: Authentication-Info with rspauth).
 */
type Authenticated = {
  user: User
  how: string
  extra: [string, string][]
  signOn?: { readonly opaque: string; readonly sa: NtlmAssociation }
}

/** Authenticates a request: the user, or the 401/403 to answer. */
function authenticateRequest(
  req: SipRequest,
  conn: SipConnection,
  ctx: SipContext,
  sas: SecurityAssociations,
): Authenticated | SipOutcome {
  const { aor, user } = userOfRequest(req, ctx.slice.users)
  // A user that AD knows but OCS does not (msRTCSIP-UserEnabled FALSE) is, to the pool, no SIP user at all.
  if (!user || !user.ocsEnabled)
    return {
      response: respond(req, 404, 'Not Found', [
        ['ms-diagnostics', '4005;reason="Destination URI either not enabled for SIP or does not exist"'],
      ]),
      summary: `404: ${aor} ${user ? 'is not enabled for Office Communications Server' : 'is no user of the scenario'}`,
    }
  const digest = ctx.slice.block.authentication === 'digest'
  // Digest has no security association: a registered connection stands for its user.
  if (digest && conn.user === user && req.method !== 'REGISTER')
    return { user, how: 'registered connection', extra: [] }
  const header = req.headers.get('authorization') ?? req.headers.get('proxy-authorization')
  if (header === undefined)
    return challengeAll(
      req,
      ctx,
      sas,
      conn.user === user
        ? 'not signed on the security association (every request after sign-in must be)'
        : 'no credentials',
    )
  const { scheme, params } = parseAuthParams(header)
  if (digest) return digestRequest(req, ctx, sas, user, scheme, params)
  if (scheme === 'kerberos') return kerberosRequest(req, ctx, sas, user, aor, params)
  if (scheme !== 'ntlm') return challengeAll(req, ctx, sas, `scheme ${scheme} not offered`)
  // A request on this connection's established security association (every request after sign-in, and
  // each re-REGISTER) must be signed on it (MS-SIPAE §3.2.5.3). The server keeps one set of security
  // associations per connection, so another connection's opaque is unknown here.
  const gssapi = params['gssapi-data'] ?? ''
  if (gssapi === '' && params.opaque !== undefined && sas.userOf(params.opaque) === user.signInAddress)
    return signedRequest(req, ctx, sas, user, params)
  // Without a token the client asks for a CHALLENGE (connectionless NTLM: no NEGOTIATE message).
  if (gssapi === '' || params.opaque === undefined) return ntlmChallenge(req, ctx, sas)
  return ntlmAuthenticate(req, ctx, sas, { user, aor }, { ...params, opaque: params.opaque, token: gssapi })
}

type AuthParams = ReturnType<typeof parseAuthParams>['params']

function digestRequest(
  req: SipRequest,
  ctx: SipContext,
  sas: SecurityAssociations,
  user: User,
  scheme: string,
  params: AuthParams,
): Authenticated | SipOutcome {
  if (scheme !== 'digest') return challengeAll(req, ctx, sas, `scheme ${scheme} not offered`)
  const dc = logon(user, digestOk(req, user, params, sas))
  if (!dc.ok)
    return {
      response: respond(req, 403, 'Forbidden'),
      summary: `403: Digest as ${params.username ?? '?'}: ${describeLogon(dc)}`,
      user: user.signInAddress,
    }
  return { user, how: 'Digest', extra: [] }
}

/** The challenge with a new security association's NTLM CHALLENGE, shaped as OCS 2007 R2's (MS-SIPAE §3.2.5.1). */
function ntlmChallenge(req: SipRequest, ctx: SipContext, sas: SecurityAssociations): SipOutcome {
  const { pool, site } = ctx.slice
  const { opaque, challenge } = sas.newNtlm()
  const message = connectionlessChallenge(challenge, {
    netbiosDomain: site.netbiosName,
    host: pool,
    dnsDomain: site.adDomain,
  })
  const value = `NTLM ${quoted({ opaque, 'gssapi-data': Buffer.from(message).toString('base64'), targetname: pool, realm: REALM, version: OFFERED_VERSION })}`
  const c = challengeOf(ctx)
  return {
    response: respond(req, c.status, c.reason, [[c.header, value]]),
    summary: `${c.status}: NTLM CHALLENGE sent`,
  }
}

/** The version a client's Authorization names (2 when it names none, as LCS 2005's clients). */
function versionOf(params: AuthParams): number {
  const v = Number.parseInt(params.version ?? '2', 10)
  return Number.isFinite(v) ? Math.max(2, Math.min(v, OFFERED_VERSION)) : 2
}

/** The NTLM AUTHENTICATE answering this association's CHALLENGE: the DC's logon, then the session keys. */
function ntlmAuthenticate(
  req: SipRequest,
  ctx: SipContext,
  sas: SecurityAssociations,
  named: { readonly user: User; readonly aor: string },
  params: AuthParams & { readonly opaque: string; readonly token: string },
): Authenticated | SipOutcome {
  const challenge = sas.takeNtlm(params.opaque)
  if (!challenge)
    return challengeAll(req, ctx, sas, `NTLM security association ${params.opaque} unknown or used`)
  let message
  try {
    message = decodeNtlm(Buffer.from(params.token, 'base64'))
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return challengeAll(req, ctx, sas, err.message)
  }
  if (message.type !== 3) return challengeAll(req, ctx, sas, `NTLM message type ${message.type} out of turn`)
  const { user: logged, version, dc } = ntlmLogon(ctx.slice.users, message, challenge)
  const as = `NTLM as ${message.domain}\\${message.user}`
  const { user, aor } = named
  if (!version || !dc.ok)
    return {
      response: respond(req, 403, 'Forbidden', [['ms-diagnostics', '1000;reason="Final handshake failed"']]),
      summary: `403: ${as}: ${describeLogon(dc)}`,
      user: user.signInAddress,
    }
  // The credentials are good, but another user's: OCS refuses to let them act as this URI ([MS-OCER] 4004).
  if (logged !== user)
    return notThisUser(req, user, `403: ${as} is ${logged?.signInAddress ?? '?'}, not ${aor}`)
  const keys = serverSessionKeys(message, user.password)
  const sa: NtlmAssociation | undefined = keys && {
    keys,
    version: versionOf(params),
    realm: params.realm ?? REALM,
    targetname: params.targetname ?? ctx.slice.pool,
  }
  const how = `${version} as ${message.domain}\\${message.user}`
  // Version 4: the AUTHENTICATE itself is signed with the keys it establishes.
  const first = sa && sa.version >= 4 ? checkSignature(req, ctx, sa, params) : undefined
  if (first?.refused) return challengeAll(req, ctx, sas, `the signed AUTHENTICATE: ${first.note}`)
  sas.authenticated(params.opaque, user.signInAddress, sa)
  return {
    user,
    how: first ? `${how}, ${first.note}` : how,
    extra: [],
    ...(sa ? { signOn: { opaque: params.opaque, sa } } : {}),
  }
}

/**
 * A client's signature on a request: verified, or what is wrong with it — refused when the `signatures` knob
 * says verify, otherwise only noted (ADR 0012, ADR 0022).
 */
function checkSignature(
  req: SipRequest,
  ctx: SipContext,
  sa: NtlmAssociation,
  params: AuthParams,
): { refused: boolean; note: string } {
  const { crand, cnum, response } = params
  const wrong =
    crand === undefined || cnum === undefined || response === undefined
      ? 'no signature (crand, cnum, response)'
      : verifySignature(req, sa, 'client', { rand: crand, num: cnum, response })
        ? undefined
        : 'a signature that does not verify'
  if (wrong === undefined) return { refused: false, note: 'signature verified' }
  const refused = ctx.slice.block.signatures === 'verify'
  return { refused, note: refused ? wrong : `${wrong} (accepted: signatures is journal)` }
}

/**
 * Kerberos as MS-SIPAE carries it: a REGISTER with the AP-REQ in `gssapi-data`, checked with sip/<pool>'s
 * key (one leg: the security association is made at once), then requests signed on that association. The
 * lab checks the ticket and the authenticator; it does not check Kerberos signatures (MIC tokens) on later
 * requests, and says so per request (ADR 0015).
 */
function kerberosRequest(
  req: SipRequest,
  ctx: SipContext,
  sas: SecurityAssociations,
  user: User,
  aor: string,
  params: Readonly<Record<string, string>>,
): { user: User; how: string; extra: [string, string][] } | SipOutcome {
  const pool = ctx.slice.pool
  if (!ctx.slice.block.offerKerberos || !ctx.krb5)
    return challengeAll(req, ctx, sas, 'Kerberos is not offered')
  const gssapi = params['gssapi-data'] ?? ''
  if (gssapi === '' && params.opaque !== undefined && sas.userOf(params.opaque) === user.signInAddress)
    return signedRequest(req, ctx, sas, user, params)
  let result
  try {
    const token = readKrb5Token(Buffer.from(gssapi, 'base64'))
    result = acceptApReq(token.message, {
      realm: ctx.krb5.realm,
      service: { type: NameType.srvInst, names: ['sip', pool] },
      nowMs: ctx.now.getTime(),
      maxSkewMs: ctx.krb5.realm.maxSkewMs,
      replay: ctx.krb5.replay,
    })
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return challengeAll(req, ctx, sas, `a Kerberos token that does not decode: ${err.message}`)
  }
  if (!result.ok) return challengeAll(req, ctx, sas, `Kerberos ${result.error}: ${result.why}`)
  if (result.user !== user) return notThisUser(req, user, `403: Kerberos as ${result.client}, not ${aor}`)
  const opaque = randomBytes(4).toString('hex').toUpperCase()
  sas.authenticated(opaque, user.signInAddress, undefined, 'Kerberos MIC')
  const info = `Kerberos ${quoted({ opaque, qop: 'auth', realm: REALM, targetname: `sip/${pool}`, srand: randomBytes(4).toString('hex').toUpperCase(), snum: 1 })}`
  return { user, how: `Kerberos as ${result.client}`, extra: [['Authentication-Info', info]] }
}

/**
 * A request on an established security association: it must carry crand, cnum and the signature
 * (`response`), checked with the client's keys (NTLMv2); whether a bad one is refused or only journaled is the
 * scenario's `signatures` knob (ADR 0012).
 */
function signedRequest(
  req: SipRequest,
  ctx: SipContext,
  sas: SecurityAssociations,
  user: User,
  params: AuthParams,
): Authenticated | SipOutcome {
  const opaque = params.opaque ?? ''
  if (params.crand === undefined || params.cnum === undefined || params.response === undefined)
    return challengeAll(
      req,
      ctx,
      sas,
      `security association ${opaque} named without a signature (crand, cnum, response)`,
    )
  const sa = sas.associationOf(opaque)
  const unchecked = sas.uncheckedWhy(opaque)
  const how = `${unchecked === 'Kerberos MIC' ? 'Kerberos' : 'NTLM'} security association ${opaque}`
  if (!sa) return { user, how: `${how}, signature not checked (${unchecked ?? 'no key'})`, extra: [] }
  const check = checkSignature(req, ctx, sa, params)
  if (check.refused)
    return challengeAll(req, ctx, sas, `the signature on security association ${opaque} does not verify`)
  return { user, how: `${how}, ${check.note}`, extra: [], signOn: { opaque, sa } }
}

/** Signs a final answer on the request's security association: Authentication-Info with rspauth (MS-SIPAE §3.2.5.4). */
function signAnswer(
  outcome: SipOutcome,
  on: NonNullable<Authenticated['signOn']>,
  sas: SecurityAssociations,
  fault?: 'wrong',
): SipOutcome {
  const { sa, opaque } = on
  const srand = randomBytes(4).toString('hex').toUpperCase()
  const snum = String(sas.nextSnum(opaque))
  const right = signature(outcome.response, sa, 'server', srand, snum).toUpperCase()
  // A wrong signature: the checksum's first digit changed, the rest as the pool would send it.
  const rspauth =
    fault === 'wrong' ? `${right.slice(0, 8)}${right[8] === '0' ? '1' : '0'}${right.slice(9)}` : right
  outcome.response.headers.add(
    'Authentication-Info',
    `NTLM ${quoted({ rspauth, srand, snum, opaque, qop: 'auth', targetname: sa.targetname, realm: sa.realm })}`,
  )
  return outcome
}

/** The methods the pool answers only for an authenticated user. */
const AUTHENTICATED = new Set([
  'REGISTER',
  'SUBSCRIBE',
  'SERVICE',
  'NOTIFY',
  'BENOTIFY',
  'MESSAGE',
  'INVITE',
  'BYE',
  'CANCEL',
  'INFO',
])

/** Answers one request (undefined: no answer, as for ACK). */
export function answer(
  req: SipRequest,
  conn: SipConnection,
  ctx: SipContext,
  sas: SecurityAssociations,
): SipOutcome | undefined {
  if (req.method === 'ACK') return undefined
  if (req.method === 'OPTIONS')
    return {
      response: respond(req, 200, 'OK', [
        ['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, SERVICE, MESSAGE, INFO'],
        ['Supported', 'gruu-10, adhoclist, msrtc-event-categories'],
      ]),
      summary: '200 OPTIONS',
    }
  if (!AUTHENTICATED.has(req.method))
    return {
      response: respond(req, 501, 'Not Implemented'),
      summary: `501: ${req.method} is not a method the pool answers`,
    }
  const auth = authenticateRequest(req, conn, ctx, sas)
  if (!('how' in auth)) return auth
  const outcome = authenticatedAnswer(req, conn, ctx, auth)
  const via = outcome.response.headers.get('via')
  if (conn.received && via !== undefined && !/ms-received-cid=/i.test(via))
    outcome.response.headers.replaceFirst(
      'Via',
      `${via};ms-received-port=${conn.received.port};ms-received-cid=${conn.received.cid}`,
    )
  return auth.signOn && ctx.signature !== 'missing'
    ? signAnswer(outcome, auth.signOn, sas, ctx.signature)
    : outcome
}

function authenticatedAnswer(
  req: SipRequest,
  conn: SipConnection,
  ctx: SipContext,
  auth: Authenticated,
): SipOutcome {
  const who = auth.user.signInAddress
  if (req.method === 'REGISTER') return register(req, conn, ctx, auth)
  if (req.method === 'SUBSCRIBE') {
    const out = subscribe(req, auth.user, ctx)
    return { ...out, summary: `${out.summary} (${auth.how})` }
  }
  if (req.method === 'INVITE')
    return {
      response: respond(req, 480, 'Temporarily Unavailable'),
      summary: '480: the lab places no calls',
      user: who,
    }
  return { response: respond(req, 200, 'OK'), summary: `200 ${req.method} (${auth.how})`, user: who }
}

/**
 * The Contact a 200 to REGISTER carries, as OCS 2007 R2 writes it: the endpoint's, with the connection's
 * `ms-received-cid`, the granted expires and — for an endpoint that sent `+sip.instance` — the instance again
 * and its GRUU (sipe's recorded 200 OK).
 */
function registeredContact(contact: string, conn: SipConnection, aor: string, expires: number): string {
  const bare = contact.replace(/;expires=\d+/, '')
  const withCid =
    conn.received && bare.includes('>') ? bare.replace('>', `;ms-received-cid=${conn.received.cid}>`) : bare
  const instance = /\+sip\.instance="<urn:uuid:([0-9a-fA-F-]{36})>"/.exec(contact)?.[1]?.toLowerCase()
  const head = withCid.replace(/;\+sip\.instance="[^"]*"/, '')
  if (!instance) return `${head};expires=${expires}`
  return `${head};expires=${expires};+sip.instance="<urn:uuid:${instance}>";gruu="sip:${aor};opaque=${gruuOpaque(instance)};gruu"`
}

function register(req: SipRequest, conn: SipConnection, ctx: SipContext, auth: Authenticated): SipOutcome {
  const asked = Number(
    req.headers.get('expires') ??
      paramOf(req.headers.get('contact'), 'expires') ??
      ctx.slice.block.registerExpires,
  )
  const expires = asked === 0 ? 0 : ctx.slice.block.registerExpires
  const who = auth.user.signInAddress
  const contact = req.headers.get('contact') ?? `<sip:${who}>`
  if (expires === 0) delete conn.user
  else {
    conn.user = auth.user
    conn.contact = contact
  }
  const response = respond(req, 200, 'OK', [
    ['ms-keep-alive', 'UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300'],
    ...auth.extra,
    ['Contact', registeredContact(contact, conn, who, expires)],
    ['Expires', String(expires)],
    ...(expires === 0 ? [] : ([['presence-state', 'register-action="added"']] as [string, string][])),
    ['Allow-Events', ALLOW_EVENTS],
    ['Supported', 'adhoclist'],
    ['Supported', 'msrtc-event-categories'],
  ])
  return {
    response,
    summary:
      expires === 0
        ? `200 REGISTER (unregistered) ${auth.how}`
        : `200 REGISTER, Expires ${expires}, ${auth.how}`,
    user: who,
    registration: { user: who, contact, expires },
  }
}

function subscribe(req: SipRequest, user: User, ctx: SipContext): SipOutcome {
  const event = (req.headers.get('event') ?? '').split(';')[0]!.trim().toLowerCase()
  const { block, site, pool } = ctx.slice
  const who = user.signInAddress
  const input: ProvisioningInput = {
    site,
    user,
    pool,
    ...(ctx.urls.dus && ctx.provisioning !== 'no-dus' ? { dus: ctx.urls.dus } : {}),
    abs: ctx.urls.abs,
    emailInProvisioning: block.emailIn.includes('provisioning') && ctx.provisioning !== 'no-email',
    properties: block.properties,
    ...(ctx.provisioning === 'empty' ? { empty: true } : {}),
  }
  const ok = (type: string, text: string, what: string): SipOutcome => ({
    response: respond(
      req,
      200,
      'OK',
      [
        ['Expires', '0'],
        ['Event', event],
      ],
      { type, text },
    ),
    summary: `200 SUBSCRIBE ${event}: ${what}`,
    user: who,
    event,
  })
  switch (event) {
    case 'vnd-microsoft-provisioning-v2':
      return ok(
        'application/vnd-microsoft-roaming-provisioning-v2+xml',
        provisioningV2(input),
        'ServerConfiguration',
      )
    case 'vnd-microsoft-provisioning':
      return ok('application/vnd-microsoft-roaming-provisioning+xml', provisioningV1(input), 'provision (v1)')
    case 'vnd-microsoft-roaming-self':
      return ok(
        'application/vnd-microsoft-roaming-self+xml',
        roamingSelf(user, block.emailIn.includes('roaming-self') && ctx.provisioning !== 'no-email', ctx.now),
        `self categories (telephonyMode ${user.enterpriseVoice ? 'Uc' : 'None'}, exumEnabled ${user.umEnabled ? 1 : 0})`,
      )
    case 'vnd-microsoft-roaming-contacts':
      return ok(
        'application/vnd-microsoft-roaming-contacts+xml',
        '<?xml version="1.0" encoding="utf-8"?><contactList deltaNum="1" xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-contacts"/>',
        'contact list (empty)',
      )
    case 'vnd-microsoft-roaming-acl':
      return ok(
        'application/vnd-microsoft-roaming-acls+xml',
        '<?xml version="1.0" encoding="utf-8"?><acls deltaNum="1" xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-acls"/>',
        'ACL (empty)',
      )
    case 'presence':
    case 'presence.wpending':
      return {
        response: respond(req, 200, 'OK', [['Expires', '0']]),
        summary: `200 SUBSCRIBE ${event}`,
        user: who,
        event,
      }
    default:
      return {
        response: respond(req, 489, 'Bad Event', [['Allow-Events', ALLOW_EVENTS]]),
        summary: `489: event package "${event}" unknown`,
        user: who,
        event,
      }
  }
}
