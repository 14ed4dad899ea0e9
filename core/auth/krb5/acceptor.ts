import { LabDecodeError } from '../../errors.js'
import type { User } from '../../site.js'
import { decrypt, encrypt } from './crypto.js'
import {
  decodeApReq,
  decodeAuthenticator,
  decodeEncTicketPart,
  encodeApRep,
  encodeEncApRepPart,
  principalText,
  type EncryptionKey,
  type PrincipalName,
} from './messages.js'
import type { KerberosRealm } from './realm.js'

/**
 * A service accepting a Kerberos AP-REQ as Windows does (RFC 4120 §3.2.3): the ticket opened with the
 * service's own key, the authenticator with the ticket's session key; the client names must match, the
 * clock be within the skew, the ticket be current, and the authenticator never seen before. Mutual
 * authentication answers an AP-REP.
 */

/** Authenticators seen within the skew window (RFC 4120 §3.2.3's replay cache), bounded. */
export class ReplayCache {
  static readonly MAX = 10_000
  readonly #seen = new Map<string, number>()

  /** False when this authenticator was seen before; remembers it until `untilMs`. */
  fresh(key: string, nowMs: number, untilMs: number): boolean {
    const at = this.#seen.get(key)
    if (at !== undefined && at > nowMs) return false
    if (this.#seen.size >= ReplayCache.MAX)
      for (const [k, until] of this.#seen)
        if (until <= nowMs || this.#seen.size >= ReplayCache.MAX) this.#seen.delete(k)
    this.#seen.set(key, untilMs)
    return true
  }
}

export interface AcceptOptions {
  readonly realm: KerberosRealm
  /** The service this acceptor is, e.g. HTTP/dc1.corp.contoso.test (its key opens the ticket). */
  readonly service: PrincipalName
  readonly nowMs: number
  readonly maxSkewMs: number
  readonly replay: ReplayCache
}

export type AcceptResult =
  | {
      readonly ok: true
      /** alice@CORP.CONTOSO.TEST */
      readonly client: string
      readonly user: User | undefined
      readonly sessionKey: EncryptionKey
      /** The AP-REP for mutual authentication, when the client asked for it. */
      readonly apRep?: Uint8Array
      /** The acceptor's first sequence number (named in the AP-REP; GSS per-message tokens count from it). */
      readonly acceptorSeq: number
    }
  | { readonly ok: false; readonly error: string; readonly why: string }

/** AP-OPTIONS mutual-required (RFC 4120 §5.5.1). */
const MUTUAL_REQUIRED = 1 << 29

export function acceptApReq(apReqBytes: Uint8Array, o: AcceptOptions): AcceptResult {
  let ap
  try {
    ap = decodeApReq(apReqBytes)
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return { ok: false, error: 'KRB_AP_ERR_MSG_TYPE', why: err.message }
  }
  const service = o.realm.find(o.service)
  if (!service)
    return {
      ok: false,
      error: 'KRB_AP_ERR_NOT_US',
      why: `${principalText(o.service)} is no principal of the realm`,
    }
  // Windows opens any ticket sealed in its account's key, whatever SPN of the account it names; a ticket
  // for another account's SPN does not open (its integrity check fails).
  const named = o.realm.find(ap.ticket.sname)
  if (named?.account !== service.account)
    return {
      ok: false,
      error: 'KRB_AP_ERR_MODIFIED',
      why: `a ticket for ${principalText(ap.ticket.sname)}, sealed for another account than ${service.account ?? principalText(o.service)}`,
    }
  let ticket
  let authenticator
  try {
    ticket = decodeEncTicketPart(
      decrypt(o.realm.keyOf(service, ap.ticket.encPart.etype), 2, ap.ticket.encPart.cipher),
    )
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return {
      ok: false,
      error: 'KRB_AP_ERR_BAD_INTEGRITY',
      why: `the ticket does not open with the service key: ${err.message}`,
    }
  }
  try {
    authenticator = decodeAuthenticator(decrypt(ticket.key, 11, ap.authenticator.cipher))
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return {
      ok: false,
      error: 'KRB_AP_ERR_BAD_INTEGRITY',
      why: `the authenticator does not open: ${err.message}`,
    }
  }
  const client = `${principalText(ticket.cname)}@${ticket.crealm}`
  if (principalText(authenticator.cname).toLowerCase() !== principalText(ticket.cname).toLowerCase())
    return {
      ok: false,
      error: 'KRB_AP_ERR_BADMATCH',
      why: `the authenticator names ${principalText(authenticator.cname)}, the ticket ${client}`,
    }
  const skew = authenticator.ctime - o.nowMs
  if (Math.abs(skew) > o.maxSkewMs)
    return {
      ok: false,
      error: 'KRB_AP_ERR_SKEW',
      why: `the client's clock is ${Math.round(skew / 1000)} s off the service's`,
    }
  if (ticket.endtime < o.nowMs - o.maxSkewMs)
    return { ok: false, error: 'KRB_AP_ERR_TKT_EXPIRED', why: 'the ticket has expired' }
  if ((ticket.starttime ?? ticket.authtime) > o.nowMs + o.maxSkewMs)
    return { ok: false, error: 'KRB_AP_ERR_TKT_NYV', why: 'the ticket is not yet valid' }
  if (
    !o.replay.fresh(
      `${client}|${authenticator.ctime}|${authenticator.cusec}`,
      o.nowMs,
      o.nowMs + 2 * o.maxSkewMs,
    )
  )
    return { ok: false, error: 'KRB_AP_ERR_REPEAT', why: 'this authenticator was seen before (a replay)' }
  const user = o.realm.find(ticket.cname)?.user
  const apRep =
    ap.options & MUTUAL_REQUIRED
      ? encodeApRep({
          etype: ticket.key.etype,
          cipher: encrypt(
            ticket.key,
            12,
            encodeEncApRepPart({
              ctime: authenticator.ctime,
              cusec: authenticator.cusec,
              ...(authenticator.seqNumber !== undefined ? { seqNumber: authenticator.seqNumber } : {}),
            }),
          ),
        })
      : undefined
  return {
    ok: true,
    client,
    user,
    sessionKey: authenticator.subkey ?? ticket.key,
    acceptorSeq: authenticator.seqNumber ?? 0,
    ...(apRep ? { apRep } : {}),
  }
}
