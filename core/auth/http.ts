import { LabDecodeError } from '../errors.js'
import { accountName, type User } from '../site.js'
import { describeLogon, logon, type LogonOutcome } from './logon.js'
import {
  NtlmFlag,
  decodeNtlm,
  newServerChallenge,
  serverChallenge,
  verifyNtlm,
  type NtlmMessage,
  type NtlmVersion,
} from './ntlm.js'
import type { ReplayCache } from './krb5/acceptor.js'
import { acceptApReq } from './krb5/acceptor.js'
import { NameType } from './krb5/messages.js'
import type { KerberosRealm } from './krb5/realm.js'
import {
  KrbTokId,
  Mech,
  NegState,
  krb5Token,
  negTokenResp,
  readGssToken,
  readKrb5Token,
  type GssToken,
} from './spnego.js'

/**
 * HTTP authentication as IIS does it for /certsrv, Autodiscover and EWS, shared by every HTTP double:
 * a first 401 offering `Negotiate` and `NTLM`; the NTLM handshake on one connection (NEGOTIATE → 401 with a
 * CHALLENGE → AUTHENTICATE), in the `NTLM` scheme, raw inside `Negotiate`, or inside SPNEGO; Kerberos in
 * `Negotiate` (SPNEGO or bare), checked as Windows checks it (ticket opened with HTTP/<host>'s key, the
 * authenticator, the skew, replays) and answered with an AP-REP when the client asks for mutual
 * authentication; Basic. `kerberos: 'retry'` refuses the first good ticket on a connection and accepts the
 * retry (spec §2.5's trace), `accept` takes it at once, `refuse` never does.
 */

export interface HttpAuthOptions {
  readonly users: readonly User[]
  /** The NetBIOS domain the CHALLENGE names. */
  readonly domain: string
  readonly host: string
  readonly kerberos: 'retry' | 'refuse' | 'accept'
  /** What a Kerberos ticket is checked against; without it a ticket cannot be opened and is refused. */
  readonly krb5?: {
    readonly realm: KerberosRealm
    readonly nowMs: number
    readonly maxSkewMs: number
    readonly replay: ReplayCache
  }
  /** Also offer Basic in this realm (Exchange's Autodiscover and EWS do; /certsrv does not). */
  readonly basicRealm?: string
}

export type AuthOutcome =
  | {
      readonly status: 'ok'
      readonly user: string
      readonly scheme: string
      readonly detail: string
      /** WWW-Authenticate to send with the answer: the server's last token (SPNEGO, Kerberos AP-REP). */
      readonly headers?: readonly string[]
    }
  /** Answer 401 with these WWW-Authenticate values. */
  | { readonly status: 'challenge'; readonly headers: readonly string[]; readonly detail: string }

/**
 * Per-connection handshake state: the NTLM challenge, whether a Kerberos token was refused already, and who
 * the connection authenticated as (NTLM is connection-oriented: IIS keeps the connection authenticated, so
 * later requests on it need no Authorization header).
 */
export interface ConnectionAuth {
  challenge?: Uint8Array
  /** NTLM is running inside SPNEGO on this connection: its tokens are wrapped in NegTokenResp. */
  spnego?: boolean
  kerberosRefused?: boolean
  authenticated?: { readonly user: string; readonly scheme: string }
}

/** The scenario user an NTLM or Basic name denotes: DOMAIN\user, user@domain, or the bare user name. */
export function findUser(users: readonly User[], name: string, domain = ''): User | undefined {
  const bare = accountName(name)
  const full = name.toLowerCase()
  return users.find((u) => {
    return (
      accountName(u.userName) === bare ||
      u.userName.toLowerCase() === full ||
      u.signInAddress === full ||
      u.email === full ||
      (domain !== '' && `${domain}\\${bare}`.toLowerCase() === u.userName.toLowerCase())
    )
  })
}

/**
 * An NTLM AUTHENTICATE checked as the DC checks it (through Netlogon): the user it names, the response
 * against their password and the server's challenge, then the account (ADR 0014). One check for IIS, the
 * pool and the DC's LDAP.
 */
export function ntlmLogon(
  users: readonly User[],
  message: Extract<NtlmMessage, { type: 3 }>,
  challenge: Uint8Array,
): { readonly user: User | undefined; readonly version: NtlmVersion | undefined; readonly dc: LogonOutcome } {
  const user = findUser(users, message.user, message.domain)
  const version = user ? verifyNtlm(message, challenge, user.password) : undefined
  return { user, version, dc: logon(user, version !== undefined) }
}

/** The HTTP authentication schemes IANA registers (and NTLM, Kerberos): named in the journal as they are. */
const KNOWN_SCHEMES = new Set([
  'basic',
  'bearer',
  'digest',
  'dpop',
  'gnap',
  'hoba',
  'mutual',
  'negotiate',
  'ntlm',
  'kerberos',
  'oauth',
  'privatetoken',
  'scram-sha-1',
  'scram-sha-256',
  'vapid',
  'concealed',
  'aws4-hmac-sha256',
])

/**
 * A scheme the lab does not offer, in words for the journal: a registered scheme by its name; anything else
 * (`Basic<base64>` without its space, a token pasted alone) only by its size, since it may carry a secret.
 */
function unofferedScheme(scheme: string, header: string): string {
  return KNOWN_SCHEMES.has(scheme.toLowerCase())
    ? `scheme ${scheme} is not offered`
    : `an Authorization header of ${header.length} octets with no scheme the lab knows`
}

const offers = (o: HttpAuthOptions): string[] =>
  o.basicRealm !== undefined ? ['Negotiate', 'NTLM', `Basic realm="${o.basicRealm}"`] : ['Negotiate', 'NTLM']

/** A challenge again: what the lab offers, and why the header did not do. */
const again = (o: HttpAuthOptions, detail: string): AuthOutcome => ({
  status: 'challenge',
  headers: offers(o),
  detail,
})

/** Decides what an Authorization header (or its absence) gets, advancing the connection's handshake. */
export function authenticate(
  header: string | undefined,
  conn: ConnectionAuth,
  o: HttpAuthOptions,
): AuthOutcome {
  if ((header === undefined || header.trim() === '') && conn.authenticated)
    return {
      status: 'ok',
      user: conn.authenticated.user,
      scheme: conn.authenticated.scheme,
      detail: `connection already authenticated (${conn.authenticated.scheme})`,
    }
  if (header === undefined || header.trim() === '')
    return again(
      o,
      `no credentials: offered ${o.basicRealm !== undefined ? 'Negotiate, NTLM and Basic' : 'Negotiate and NTLM'}`,
    )
  const [scheme = '', token = ''] = header.trim().split(/\s+/, 2)
  const s = scheme.toLowerCase()
  if (s === 'basic') return basic(token, o)
  if (s !== 'ntlm' && s !== 'negotiate') return again(o, unofferedScheme(scheme, header))
  const bytes = Buffer.from(token, 'base64')
  if (s === 'ntlm') return ntlmStep(bytes, conn, o, 'NTLM')
  let gss: GssToken
  try {
    gss = readGssToken(bytes)
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return again(o, `a Negotiate token of ${bytes.length} octets: ${err.message}`)
  }
  return negotiate(gss, conn, o)
}

function basic(token: string, o: HttpAuthOptions): AuthOutcome {
  const decoded = Buffer.from(token, 'base64').toString('utf8')
  // Without a user:password pair there is no name to journal, only what might be a password: say its size.
  if (!decoded.includes(':'))
    return again(o, `Basic credentials of ${token.length} octets without a user:password pair`)
  const [name = '', ...rest] = decoded.split(':')
  const user = findUser(o.users, name)
  const dc = logon(user, user?.password === rest.join(':'))
  return user && dc.ok
    ? { status: 'ok', user: user.signInAddress, scheme: 'Basic', detail: `Basic as ${name}` }
    : again(o, `Basic as ${name}: ${describeLogon(dc)}`)
}

/** A Negotiate token (RFC 4559): raw NTLM or Kerberos, or SPNEGO around either (RFC 4178). */
function negotiate(gss: GssToken, conn: ConnectionAuth, o: HttpAuthOptions): AuthOutcome {
  switch (gss.kind) {
    case 'ntlm':
      conn.spnego = false
      return ntlmStep(gss.message, conn, o, 'Negotiate')
    case 'krb5':
      return gss.tokId === KrbTokId.apReq
        ? kerberosStep(gss.message, conn, o, (apRep) => krb5Token(KrbTokId.apRep, apRep, gss.mech))
        : again(o, `a Kerberos token of type ${gss.tokId.toString(16)}`)
    case 'init': {
      const first = gss.mechs[0]
      if ((first === Mech.krb5 || first === Mech.msKrb5) && gss.mechToken) {
        const inner = readKrb5Token(gss.mechToken)
        return kerberosStep(inner.message, conn, o, (apRep) =>
          negTokenResp(NegState.acceptCompleted, first, krb5Token(KrbTokId.apRep, apRep, inner.mech)),
        )
      }
      if (first === Mech.ntlm && gss.mechToken) {
        conn.spnego = true
        return ntlmStep(gss.mechToken, conn, o, 'Negotiate')
      }
      return again(
        o,
        `SPNEGO offering ${gss.mechs.join(', ') || 'nothing'}: no mechanism the lab takes first`,
      )
    }
    case 'resp':
      return conn.spnego && gss.mechToken
        ? ntlmStep(gss.mechToken, conn, o, 'Negotiate')
        : again(o, 'a NegTokenResp out of turn')
  }
}

/** Wraps an NTLM token for the connection's framing: bare, or in a SPNEGO NegTokenResp. */
function ntlmToken(conn: ConnectionAuth, message: Uint8Array, done: boolean): Uint8Array {
  if (!conn.spnego) return message
  return done
    ? negTokenResp(NegState.acceptCompleted)
    : negTokenResp(NegState.acceptIncomplete, Mech.ntlm, message)
}

/** One NTLM message of the handshake (NEGOTIATE or AUTHENTICATE). */
function ntlmStep(bytes: Uint8Array, conn: ConnectionAuth, o: HttpAuthOptions, label: string): AuthOutcome {
  let message
  try {
    message = decodeNtlm(bytes)
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return { status: 'challenge', headers: offers(o), detail: err.message }
  }
  if (message.type === 1) {
    conn.challenge = newServerChallenge()
    const challenge = serverChallenge(
      conn.challenge,
      o.domain,
      o.host,
      message.flags & NtlmFlag.extendedSessionSecurity,
    )
    return {
      status: 'challenge',
      headers: [`${label} ${Buffer.from(ntlmToken(conn, challenge, false)).toString('base64')}`],
      detail: `NTLM NEGOTIATE${conn.spnego ? ' (in SPNEGO)' : ''}: sent a CHALLENGE`,
    }
  }
  if (message.type !== 3 || conn.challenge === undefined) {
    return {
      status: 'challenge',
      headers: offers(o),
      detail: `NTLM message type ${message.type} out of turn`,
    }
  }
  const challenge = conn.challenge
  delete conn.challenge
  const { user, version, dc } = ntlmLogon(o.users, message, challenge)
  if (!user || !version || !dc.ok) {
    return {
      status: 'challenge',
      headers: offers(o),
      detail: `NTLM AUTHENTICATE as ${message.domain}\\${message.user}: ${describeLogon(dc)}`,
    }
  }
  conn.authenticated = { user: user.signInAddress, scheme: label }
  return {
    status: 'ok',
    user: user.signInAddress,
    scheme: label,
    detail: `${version} as ${message.domain}\\${message.user}${conn.spnego ? ' (in SPNEGO)' : ''}`,
    ...(conn.spnego
      ? { headers: [`Negotiate ${Buffer.from(ntlmToken(conn, new Uint8Array(), true)).toString('base64')}`] }
      : {}),
  }
}

/** A Kerberos AP-REQ for HTTP/<host>: checked, refused once under `retry`, answered with the AP-REP. */
function kerberosStep(
  apReq: Uint8Array,
  conn: ConnectionAuth,
  o: HttpAuthOptions,
  wrap: (apRep: Uint8Array) => Uint8Array,
): AuthOutcome {
  if (o.kerberos === 'refuse' || !o.krb5)
    return { status: 'challenge', headers: offers(o), detail: 'a Kerberos ticket refused (kerberos: refuse)' }
  const r = acceptApReq(apReq, { ...o.krb5, service: { type: NameType.srvInst, names: ['HTTP', o.host] } })
  if (!r.ok) return { status: 'challenge', headers: offers(o), detail: `Kerberos ${r.error}: ${r.why}` }
  if (o.kerberos === 'retry' && conn.kerberosRefused !== true) {
    conn.kerberosRefused = true
    return {
      status: 'challenge',
      headers: offers(o),
      detail: `a good Kerberos ticket of ${r.client} refused once (kerberos: retry — spec §2.5: the first attempt fails, the retry succeeds)`,
    }
  }
  const user = r.user?.signInAddress ?? r.client
  conn.authenticated = { user, scheme: 'Negotiate' }
  return {
    status: 'ok',
    user,
    scheme: 'Negotiate',
    detail: `Kerberos as ${r.client}${r.apRep ? ', mutual (AP-REP sent)' : ''}`,
    ...(r.apRep ? { headers: [`Negotiate ${Buffer.from(wrap(r.apRep)).toString('base64')}`] } : {}),
  }
}
