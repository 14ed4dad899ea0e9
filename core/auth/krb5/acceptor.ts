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
  type ApReq,
  type Authenticator,
  type EncTicketPart,
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
  /** Authenticator → until when it is remembered; in insertion order, which is nearly expiry order. */
  readonly #seen = new Map<string, number>()

  /** False when this authenticator was seen before; remembers it until `untilMs`. */
  fresh(key: string, nowMs: number, untilMs: number): boolean {
    const at = this.#seen.get(key)
    if (at !== undefined && at > nowMs) return false
    if (this.#seen.size >= ReplayCache.MAX) this.#evict(nowMs)
    this.#seen.set(key, untilMs)
    return true
  }

  /**
   * Makes room once the cache is full: the expired first, then the oldest tenth — one sweep per tenth of
   * the cache filled, never one per authenticator (a flood of fresh authenticators cost a whole sweep each).
   */
  #evict(nowMs: number): void {
    for (const [k, until] of this.#seen) if (until <= nowMs) this.#seen.delete(k)
    let over = this.#seen.size - Math.floor(ReplayCache.MAX * 0.9)
    for (const k of this.#seen.keys()) {
      if (over-- <= 0) break
      this.#seen.delete(k)
    }
  }

  get size(): number {
    return this.#seen.size
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

type Refusal = Extract<AcceptResult, { ok: false }>

const refuse = (error: string, why: string): Refusal => ({ ok: false, error, why })

/** The ticket opened with the service's key, and the authenticator with the ticket's session key. */
function openTicket(
  ap: ApReq,
  service: NonNullable<ReturnType<KerberosRealm['find']>>,
  o: AcceptOptions,
): { ticket: EncTicketPart; authenticator: Authenticator } | Refusal {
  let ticket: EncTicketPart
  try {
    ticket = decodeEncTicketPart(
      decrypt(o.realm.keyOf(service, ap.ticket.encPart.etype), 2, ap.ticket.encPart.cipher),
    )
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return refuse('KRB_AP_ERR_BAD_INTEGRITY', `the ticket does not open with the service key: ${err.message}`)
  }
  try {
    return { ticket, authenticator: decodeAuthenticator(decrypt(ticket.key, 11, ap.authenticator.cipher)) }
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return refuse('KRB_AP_ERR_BAD_INTEGRITY', `the authenticator does not open: ${err.message}`)
  }
}

/** RFC 4120 §3.2.3: the authenticator names the ticket's client, in time, seen once; the ticket valid now. */
function checkAuthenticator(
  ticket: EncTicketPart,
  authenticator: Authenticator,
  client: string,
  o: AcceptOptions,
): Refusal | undefined {
  if (principalText(authenticator.cname).toLowerCase() !== principalText(ticket.cname).toLowerCase())
    return refuse(
      'KRB_AP_ERR_BADMATCH',
      `the authenticator names ${principalText(authenticator.cname)}, the ticket ${client}`,
    )
  const skew = authenticator.ctime - o.nowMs
  if (Math.abs(skew) > o.maxSkewMs)
    return refuse('KRB_AP_ERR_SKEW', `the client's clock is ${Math.round(skew / 1000)} s off the service's`)
  if (ticket.endtime < o.nowMs - o.maxSkewMs)
    return refuse('KRB_AP_ERR_TKT_EXPIRED', 'the ticket has expired')
  if ((ticket.starttime ?? ticket.authtime) > o.nowMs + o.maxSkewMs)
    return refuse('KRB_AP_ERR_TKT_NYV', 'the ticket is not yet valid')
  const seen = `${client}|${authenticator.ctime}|${authenticator.cusec}`
  if (!o.replay.fresh(seen, o.nowMs, o.nowMs + 2 * o.maxSkewMs))
    return refuse('KRB_AP_ERR_REPEAT', 'this authenticator was seen before (a replay)')
  return undefined
}

/** The AP-REP a client asked for with mutual-required: its ctime and cusec back, sealed in the session key. */
function mutualReply(ticket: EncTicketPart, authenticator: Authenticator): Uint8Array {
  return encodeApRep({
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
}

export function acceptApReq(apReqBytes: Uint8Array, o: AcceptOptions): AcceptResult {
  let ap: ApReq
  try {
    ap = decodeApReq(apReqBytes)
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return refuse('KRB_AP_ERR_MSG_TYPE', err.message)
  }
  const service = o.realm.find(o.service)
  if (!service) return refuse('KRB_AP_ERR_NOT_US', `${principalText(o.service)} is no principal of the realm`)
  // Windows opens any ticket sealed in its account's key, whatever SPN of the account it names; a ticket
  // for another account's SPN does not open (its integrity check fails).
  const named = o.realm.find(ap.ticket.sname)
  if (named?.account !== service.account)
    return refuse(
      'KRB_AP_ERR_MODIFIED',
      `a ticket for ${principalText(ap.ticket.sname)}, sealed for another account than ${service.account ?? principalText(o.service)}`,
    )
  const opened = openTicket(ap, service, o)
  if ('ok' in opened) return opened
  const { ticket, authenticator } = opened
  const client = `${principalText(ticket.cname)}@${ticket.crealm}`
  const refused = checkAuthenticator(ticket, authenticator, client, o)
  if (refused) return refused
  return {
    ok: true,
    client,
    user: o.realm.find(ticket.cname)?.user,
    sessionKey: authenticator.subkey ?? ticket.key,
    acceptorSeq: authenticator.seqNumber ?? 0,
    ...(ap.options & MUTUAL_REQUIRED ? { apRep: mutualReply(ticket, authenticator) } : {}),
  }
}
