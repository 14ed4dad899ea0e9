import { LabDecodeError } from '../errors.js'
import type { User } from '../site.js'
import { describeLogon, logon } from './logon.js'
import { NtlmFlag, decodeNtlm, newServerChallenge, serverChallenge, verifyNtlm } from './ntlm.js'

/**
 * HTTP authentication as IIS does it for /certsrv, Autodiscover and EWS, shared by every HTTP double:
 * a first 401 offering `Negotiate` and `NTLM`; the NTLM handshake on one connection (NEGOTIATE → 401 with a
 * CHALLENGE → AUTHENTICATE), in the `NTLM` scheme or raw inside `Negotiate`; Basic. A Kerberos token in
 * `Negotiate` cannot be verified by the lab: by the guide's trace (spec §2.5: the first Kerberos attempt
 * fails, the retry succeeds) it is refused once per connection and accepted the second time when
 * `kerberos: 'retry'`; `kerberos: 'refuse'` refuses it always.
 */

export interface HttpAuthOptions {
  readonly users: readonly User[]
  /** The NetBIOS domain the CHALLENGE names. */
  readonly domain: string
  readonly host: string
  readonly kerberos: 'retry' | 'refuse'
  /** Also offer Basic in this realm (Exchange's Autodiscover and EWS do; /certsrv does not). */
  readonly basicRealm?: string
}

export type AuthOutcome =
  | { readonly status: 'ok'; readonly user: string; readonly scheme: string; readonly detail: string }
  /** Answer 401 with these WWW-Authenticate values. */
  | { readonly status: 'challenge'; readonly headers: readonly string[]; readonly detail: string }

/**
 * Per-connection handshake state: the NTLM challenge, whether a Kerberos token was refused already, and who
 * the connection authenticated as (NTLM is connection-oriented: IIS keeps the connection authenticated, so
 * later requests on it need no Authorization header).
 */
export interface ConnectionAuth {
  challenge?: Uint8Array
  kerberosRefused?: boolean
  authenticated?: { readonly user: string; readonly scheme: string }
}

/** The scenario user an NTLM or Basic name denotes: DOMAIN\user, user@domain, or the bare user name. */
export function findUser(users: readonly User[], name: string, domain = ''): User | undefined {
  const bare = (name.includes('\\') ? name.split('\\')[1]! : name.split('@')[0]!).toLowerCase()
  const full = name.toLowerCase()
  return users.find((u) => {
    const sam = (
      u.userName.includes('\\') ? u.userName.split('\\')[1]! : u.userName.split('@')[0]!
    ).toLowerCase()
    return (
      sam === bare ||
      u.userName.toLowerCase() === full ||
      u.signInAddress === full ||
      u.email === full ||
      (domain !== '' && `${domain}\\${bare}`.toLowerCase() === u.userName.toLowerCase())
    )
  })
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
    return {
      status: 'challenge',
      headers: offers(o),
      detail: `no credentials: offered ${o.basicRealm !== undefined ? 'Negotiate, NTLM and Basic' : 'Negotiate and NTLM'}`,
    }
  const [scheme = '', token = ''] = header.trim().split(/\s+/, 2)
  const s = scheme.toLowerCase()
  if (s === 'basic') {
    const decoded = Buffer.from(token, 'base64').toString('utf8')
    // Without a user:password pair there is no name to journal, only what might be a password: say its size.
    if (!decoded.includes(':'))
      return {
        status: 'challenge',
        headers: offers(o),
        detail: `Basic credentials of ${token.length} octets without a user:password pair`,
      }
    const [name = '', ...rest] = decoded.split(':')
    const user = findUser(o.users, name)
    const dc = logon(user, user?.password === rest.join(':'))
    return user && dc.ok
      ? { status: 'ok', user: user.signInAddress, scheme: 'Basic', detail: `Basic as ${name}` }
      : { status: 'challenge', headers: offers(o), detail: `Basic as ${name}: ${describeLogon(dc)}` }
  }
  if (s !== 'ntlm' && s !== 'negotiate')
    return { status: 'challenge', headers: offers(o), detail: unofferedScheme(scheme, header) }
  const bytes = Buffer.from(token, 'base64')
  const isNtlm = bytes.subarray(0, 8).toString('latin1') === 'NTLMSSP\0'
  if (!isNtlm) {
    if (s === 'negotiate' && o.kerberos === 'retry' && conn.kerberosRefused === true) {
      conn.authenticated = { user: '(kerberos, not verified)', scheme: 'Negotiate' }
      return {
        status: 'ok',
        user: '(kerberos, not verified)',
        scheme: 'Negotiate',
        detail: 'Kerberos token accepted on the retry (spec §2.5 trace; not verified)',
      }
    }
    conn.kerberosRefused = true
    return {
      status: 'challenge',
      headers: offers(o),
      detail: `a ${s === 'negotiate' ? 'Kerberos/SPNEGO' : 'malformed NTLM'} token of ${bytes.length} octets refused`,
    }
  }
  let message
  try {
    message = decodeNtlm(bytes)
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return { status: 'challenge', headers: offers(o), detail: err.message }
  }
  const label = s === 'ntlm' ? 'NTLM' : 'Negotiate'
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
      headers: [`${label} ${Buffer.from(challenge).toString('base64')}`],
      detail: 'NTLM NEGOTIATE: sent a CHALLENGE',
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
  const user = findUser(o.users, message.user, message.domain)
  const version = user ? verifyNtlm(message, challenge, user.password) : undefined
  const dc = logon(user, version !== undefined)
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
    detail: `${version} as ${message.domain}\\${message.user}`,
  }
}
