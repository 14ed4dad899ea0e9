import { acceptApReq, type ReplayCache } from '../../core/auth/krb5/acceptor.js'
import type { Key } from '../../core/auth/krb5/crypto.js'
import { NameType } from '../../core/auth/krb5/messages.js'
import type { KerberosRealm } from '../../core/auth/krb5/realm.js'
import { unwrapInitiator, wrapAcceptor } from '../../core/auth/krb5/wrap.js'
import {
  KrbTokId,
  Mech,
  NegState,
  krb5Token,
  negTokenResp,
  readGssToken,
  readKrb5Token,
} from '../../core/auth/spnego.js'
import { LabDecodeError } from '../../core/errors.js'
import { ntlmLogon } from '../../core/auth/http.js'
import { describeLogon } from '../../core/auth/logon.js'
import { NtlmFlag, decodeNtlm, newServerChallenge, serverChallenge } from '../../core/auth/ntlm.js'
import { logonFailed } from './behaviour.js'
import { LdapResult } from './codec.js'
import type { Account, Directory } from './directory.js'

/**
 * SASL binds as AD takes them (ADR 0015): GSSAPI (RFC 4752: the AP-REQ, then the security layer agreed in
 * Wrap tokens) and GSS-SPNEGO (SPNEGO around Kerberos, done in one leg, or around NTLM, in two). The lab offers only
 * "no security layer": a client that wants LDAP signing or sealing is refused. Pure apart from the replay
 * cache the server keeps.
 */

/** SASL security layers (RFC 4752 §3.3): none, integrity, confidentiality. */
const NO_SECURITY_LAYER = 0x01
/**
 * The offer: every layer, as AD offers them, with a 64 KiB buffer (AD's own size is not sourced). A client
 * that then chooses integrity or confidentiality is refused with a message saying why (ADR 0015).
 */
const OFFER = Uint8Array.of(0x07, 0x01, 0x00, 0x00)

export type SaslState = GssapiState | NtlmState

/** GSS-SPNEGO with NTLM inside: the CHALLENGE went out, the AUTHENTICATE is next. */
export interface NtlmState {
  readonly mechanism: 'GSS-SPNEGO'
  readonly challenge: Uint8Array
}

export interface GssapiState {
  readonly mechanism: 'GSSAPI'
  readonly key: Key
  readonly seq: bigint
  readonly client: string
  readonly account: Account | undefined
  /** Whether the security-layer offer went out (the client's answer is next). */
  readonly offered: boolean
}

export interface SaslContext {
  /** The NetBIOS domain an NTLM CHALLENGE names. */
  readonly domain: string
  readonly realm: KerberosRealm
  /** The DC's host name: tickets must be for ldap/<it>. */
  readonly host: string
  readonly nowMs: number
  readonly replay: ReplayCache
  readonly directory: Directory
}

export interface SaslOutcome {
  readonly code: number
  readonly message: string
  readonly creds?: Uint8Array
  /** Bound as this account (on success). */
  readonly account?: Account
  /** The exchange continues with this state (saslBindInProgress). */
  readonly next?: SaslState
  readonly why: string
}

const SASL_BIND_IN_PROGRESS = LdapResult.saslBindInProgress

const refuse = (why: string): SaslOutcome => ({
  code: LdapResult.invalidCredentials,
  message: `80090308: LdapErr: DSID-0C0904DC, comment: AcceptSecurityContext error, data 0, v4563 (${why})`,
  why,
})

function accountOf(directory: Directory, user: { signInAddress: string } | undefined): Account | undefined {
  return user ? directory.accounts.find((a) => a.user.signInAddress === user.signInAddress) : undefined
}

/** The AP-REQ of a Kerberos token, accepted for ldap/<DC>. */
function acceptKerberos(token: Uint8Array, ctx: SaslContext) {
  const inner = readKrb5Token(token)
  if (inner.tokId !== KrbTokId.apReq)
    return { ok: false as const, why: `a Kerberos token of type ${inner.tokId.toString(16)}` }
  const r = acceptApReq(inner.message, {
    realm: ctx.realm,
    service: { type: NameType.srvInst, names: ['ldap', ctx.host] },
    nowMs: ctx.nowMs,
    maxSkewMs: ctx.realm.maxSkewMs,
    replay: ctx.replay,
  })
  return r.ok
    ? { ok: true as const, r, mech: inner.mech }
    : { ok: false as const, why: `${r.error}: ${r.why}` }
}

function gssapi(
  credentials: Uint8Array | undefined,
  state: GssapiState | undefined,
  ctx: SaslContext,
): SaslOutcome {
  if (!state) {
    if (!credentials) return refuse('GSSAPI without a token')
    const a = acceptKerberos(credentials, ctx)
    if (!a.ok) return refuse(a.why)
    const account = accountOf(ctx.directory, a.r.user)
    // The acceptor's Wrap tokens count from the sequence number its AP-REP named.
    const seq = BigInt(a.r.acceptorSeq)
    return {
      code: SASL_BIND_IN_PROGRESS,
      message: '',
      creds: a.r.apRep ? krb5Token(KrbTokId.apRep, a.r.apRep, a.mech) : new Uint8Array(),
      next: { mechanism: 'GSSAPI', key: a.r.sessionKey, seq, client: a.r.client, account, offered: false },
      why: `Kerberos as ${a.r.client}: context established`,
    }
  }
  if (!state.offered) {
    // RFC 4752 §3.1: the server's offer, wrapped: the layers it supports and its largest buffer (none: 0).
    const offer = wrapAcceptor(state.key, state.seq, OFFER)
    return {
      code: SASL_BIND_IN_PROGRESS,
      message: '',
      creds: offer,
      next: { ...state, offered: true },
      why: 'security layers offered (none, integrity, confidentiality)',
    }
  }
  let chosen: Uint8Array
  try {
    chosen = unwrapInitiator(state.key, credentials ?? new Uint8Array()).data
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return refuse(err.message)
  }
  if (chosen.length < 4 || chosen[0] !== NO_SECURITY_LAYER)
    return refuse(
      `the client chose security layer 0x${(chosen[0] ?? 0).toString(16)}: the lab signs and seals no LDAP traffic (ADR 0015); bind with no security layer (e.g. ldapsearch -O maxssf=0)`,
    )
  if (!state.account) return refuse(`${state.client} is no account of the directory`)
  return {
    code: LdapResult.success,
    message: '',
    account: state.account,
    why: `GSSAPI as ${state.client}, no security layer`,
  }
}

/** GSS-SPNEGO with NTLM inside (what a Windows client falls back to): NEGOTIATE, then AUTHENTICATE. */
function spnegoNtlm(token: Uint8Array, state: NtlmState | undefined, ctx: SaslContext): SaslOutcome {
  const message = decodeNtlm(token)
  if (message.type === 1) {
    const challenge = newServerChallenge()
    const reply = serverChallenge(
      challenge,
      ctx.domain,
      ctx.host.split('.')[0]!.toUpperCase(),
      message.flags & NtlmFlag.extendedSessionSecurity,
    )
    return {
      code: SASL_BIND_IN_PROGRESS,
      message: '',
      creds: negTokenResp(NegState.acceptIncomplete, Mech.ntlm, reply),
      next: { mechanism: 'GSS-SPNEGO', challenge },
      why: 'NTLM in SPNEGO: CHALLENGE sent',
    }
  }
  if (message.type !== 3 || !state) return refuse(`NTLM message type ${message.type} out of turn`)
  const users = ctx.directory.accounts.map((a) => a.user)
  const { user, version, dc } = ntlmLogon(users, message, state.challenge)
  const account = accountOf(ctx.directory, user)
  if (!version || !dc.ok || !account) {
    const r = refuse(`NTLM as ${message.domain}\\${message.user}: ${describeLogon(dc)}`)
    return { ...r, message: logonFailed(dc.ldapData) }
  }
  return {
    code: LdapResult.success,
    message: '',
    creds: negTokenResp(NegState.acceptCompleted),
    account,
    why: `GSS-SPNEGO (${version}) as ${message.domain}\\${message.user}`,
  }
}

function gssSpnego(
  credentials: Uint8Array | undefined,
  state: NtlmState | undefined,
  ctx: SaslContext,
): SaslOutcome {
  const g = readGssToken(credentials ?? new Uint8Array())
  if (g.kind === 'resp' && g.mechToken) return spnegoNtlm(g.mechToken, state, ctx)
  const first = g.kind === 'init' ? g.mechs[0] : undefined
  if (g.kind === 'init' && g.mechToken && first === Mech.ntlm) return spnegoNtlm(g.mechToken, undefined, ctx)
  if (g.kind !== 'init' || !g.mechToken || (first !== Mech.krb5 && first !== Mech.msKrb5))
    return refuse('GSS-SPNEGO: the lab takes Kerberos or NTLM first in SPNEGO')
  const a = acceptKerberos(g.mechToken, ctx)
  if (!a.ok) return refuse(a.why)
  const account = accountOf(ctx.directory, a.r.user)
  if (!account) return refuse(`${a.r.client} is no account of the directory`)
  const token = a.r.apRep ? krb5Token(KrbTokId.apRep, a.r.apRep, a.mech) : undefined
  return {
    code: LdapResult.success,
    message: '',
    creds: negTokenResp(NegState.acceptCompleted, first, token),
    account,
    why: `GSS-SPNEGO (Kerberos) as ${a.r.client}`,
  }
}

/** One leg of a SASL bind. */
export function saslBind(
  mechanism: string,
  credentials: Uint8Array | undefined,
  state: SaslState | undefined,
  ctx: SaslContext,
): SaslOutcome {
  try {
    if (mechanism === 'GSSAPI')
      return gssapi(credentials, state?.mechanism === 'GSSAPI' ? state : undefined, ctx)
    if (mechanism === 'GSS-SPNEGO')
      return gssSpnego(credentials, state?.mechanism === 'GSS-SPNEGO' ? state : undefined, ctx)
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return refuse(err.message)
  }
  return {
    code: LdapResult.authMethodNotSupported,
    message: `SASL ${mechanism} is not supported by the lab; bind with GSSAPI, GSS-SPNEGO or a simple bind`,
    why: 'mechanism not supported',
  }
}
