import { randomInt } from 'node:crypto'
import {
  Etype,
  checksum,
  decrypt,
  encrypt,
  randomKey,
  stringToKey,
  type Key,
} from '../core/auth/krb5/crypto.js'
import {
  KRB_ERROR_NAMES,
  KrbErrorCode,
  MsgType,
  NameType,
  PaType,
  decodeApRep,
  decodeEncApRepPart,
  decodeEncKdcRepPart,
  decodeEtypeInfo2,
  decodeKerberos,
  decodeMethodData,
  encodeApReq,
  encodeAuthenticator,
  encodeEncryptedData,
  encodeKdcReq,
  encodeKdcReqBody,
  encodePaEncTsEnc,
  type Checksum,
  type KdcReqBody,
  type PrincipalName,
  type Ticket,
} from '../core/auth/krb5/messages.js'
import { KrbTokId, Mech, krb5Token, negTokenInit } from '../core/auth/spnego.js'
import { LabDecodeError } from '../core/errors.js'
import type { PhoneNet } from './net.js'

/**
 * The phone's Kerberos client (spec §2.5: the trace fetches /certsrv with a ticket): the AS exchange with
 * PA-ENC-TIMESTAMP from the phone's own clock, the TGS exchange for a service, and the AP-REQ in SPNEGO.
 * It talks to the DC's KDC through the network only, UDP first, TCP when the KDC says the answer is too
 * big (RFC 4120 §7.2.1). It shares the Kerberos codec and crypto with the lab, never the KDC's behaviour.
 */

export interface Credentials {
  readonly realm: string
  readonly client: PrincipalName
  readonly ticket: Ticket
  readonly session: Key
}

export type KdcResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string; readonly text?: string }

const noAnswer = { ok: false as const, error: 'no answer' }

/** One request to the KDC at `address`:88: over UDP, again over TCP when it answers RESPONSE_TOO_BIG. */
async function ask(
  net: PhoneNet,
  address: string,
  bytes: Uint8Array,
  timeoutMs: number,
): Promise<Uint8Array | undefined> {
  const udp = net.target(address, 88, 'udp')
  const answer = udp ? await net.udpAsk(udp.host, udp.port, bytes, () => true, timeoutMs) : undefined
  if (answer) {
    try {
      const m = decodeKerberos(answer)
      if (m.kind !== 'error' || m.error.errorCode !== KrbErrorCode.KRB_ERR_RESPONSE_TOO_BIG) return answer
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      return answer
    }
  }
  const tcp = net.target(address, 88, 'tcp')
  return tcp ? tcpAsk(net, tcp.host, tcp.port, bytes, timeoutMs) : undefined
}

function tcpAsk(
  net: PhoneNet,
  host: string,
  port: number,
  bytes: Uint8Array,
  timeoutMs: number,
): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const socket = net.tcp(host, port)
    let got = Buffer.alloc(0)
    const done = (v: Uint8Array | undefined): void => {
      socket.destroy()
      resolve(v)
    }
    socket.setTimeout(timeoutMs, () => done(undefined))
    socket.on('error', () => done(undefined))
    socket.on('connect', () => {
      const head = Buffer.alloc(4)
      head.writeUInt32BE(bytes.length)
      socket.write(Buffer.concat([head, bytes]))
    })
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0))
        done(got.subarray(4, 4 + got.readUInt32BE(0)))
    })
  })
}

type Decoded = ReturnType<typeof decodeKerberos>

function decoded(bytes: Uint8Array | undefined): Decoded | undefined {
  if (!bytes) return undefined
  try {
    return decodeKerberos(bytes)
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return undefined
  }
}

const errorOf = (m: Decoded): KdcResult<never> =>
  m.kind === 'error'
    ? {
        ok: false,
        error: KRB_ERROR_NAMES[m.error.errorCode] ?? `error ${m.error.errorCode}`,
        ...(m.error.eText ? { text: m.error.eText } : {}),
      }
    : { ok: false, error: `an unexpected ${m.kind}` }

/** The AS exchange: ask, learn the salt from PREAUTH_REQUIRED, prove the password with the phone's time. */
export async function asExchange(o: {
  readonly net: PhoneNet
  readonly kdc: string
  readonly realm: string
  readonly user: string
  readonly password: string
  readonly etypes: readonly number[]
  /** The phone's clock (NTP-set, or unset), in ms. */
  readonly now: () => number
  readonly timeoutMs: number
}): Promise<KdcResult<Credentials>> {
  const client = { type: NameType.principal, names: [o.user] }
  const body: KdcReqBody = {
    options: 0x40000000 | 0x10, // forwardable, renewable-ok
    cname: client,
    realm: o.realm,
    sname: { type: NameType.srvInst, names: ['krbtgt', o.realm] },
    till: o.now() + 10 * 3_600_000,
    nonce: randomInt(1, 0x7fffffff),
    etypes: o.etypes,
  }
  const first = decoded(await ask(o.net, o.kdc, encodeKdcReq(MsgType.asReq, [], body), o.timeoutMs))
  if (!first) return noAnswer
  if (first.kind !== 'error' || first.error.errorCode !== KrbErrorCode.KDC_ERR_PREAUTH_REQUIRED)
    return errorOf(first)
  const info = decodeMethodData(first.error.eData ?? new Uint8Array()).find(
    (p) => p.type === PaType.etypeInfo2,
  )
  const entry = info ? decodeEtypeInfo2(info.value)[0] : undefined
  const etype = entry?.etype ?? o.etypes[0]!
  const key = stringToKey(etype, o.password, entry?.salt ?? `${o.realm}${o.user}`)
  const at = o.now()
  const stamp = encodeEncryptedData({
    etype,
    cipher: encrypt(key, 1, encodePaEncTsEnc(at, Math.floor((at % 1000) * 1000))),
  })
  const second = decoded(
    await ask(
      o.net,
      o.kdc,
      encodeKdcReq(MsgType.asReq, [{ type: PaType.encTimestamp, value: stamp }], body),
      o.timeoutMs,
    ),
  )
  if (!second) return noAnswer
  if (second.kind !== 'as-rep') return errorOf(second)
  const part = decodeEncKdcRepPart(decrypt(key, 3, second.rep.encPart.cipher))
  if (part.nonce !== body.nonce) return { ok: false, error: 'the AS-REP nonce does not match' }
  return { ok: true, value: { realm: o.realm, client, ticket: second.rep.ticket, session: part.key } }
}

function apReq(
  creds: Credentials,
  now: number,
  options: number,
  usage: number,
  extra: { subkey?: Key; cksum?: Checksum } = {},
): Uint8Array {
  const authenticator = encodeAuthenticator({
    crealm: creds.realm,
    cname: creds.client,
    cusec: Math.floor((now % 1000) * 1000),
    ctime: now,
    ...extra,
  })
  return encodeApReq({
    options,
    ticket: creds.ticket,
    authenticator: { etype: creds.session.etype, cipher: encrypt(creds.session, usage, authenticator) },
  })
}

/** The TGS exchange: a ticket for `service` (e.g. HTTP/dc1.corp.contoso.test) with the TGT. */
export async function tgsExchange(
  net: PhoneNet,
  kdc: string,
  tgt: Credentials,
  service: string,
  etypes: readonly number[],
  now: () => number,
  timeoutMs: number,
): Promise<KdcResult<Credentials>> {
  const body: KdcReqBody = {
    options: 0x40000000,
    realm: tgt.realm,
    sname: { type: NameType.srvInst, names: service.split('/') },
    till: now() + 10 * 3_600_000,
    nonce: randomInt(1, 0x7fffffff),
    etypes,
  }
  // The TGS-REQ's authenticator carries a checksum over the request body (RFC 4120 §5.4.1).
  const cksum = checksum(tgt.session, 6, encodeKdcReqBody(body))
  const padata = [{ type: PaType.tgsReq, value: apReq(tgt, now(), 0, 7, { cksum }) }]
  const m = decoded(await ask(net, kdc, encodeKdcReq(MsgType.tgsReq, padata, body), timeoutMs))
  if (!m) return noAnswer
  if (m.kind !== 'tgs-rep') return errorOf(m)
  const part = decodeEncKdcRepPart(decrypt(tgt.session, 8, m.rep.encPart.cipher))
  return {
    ok: true,
    value: { realm: tgt.realm, client: tgt.client, ticket: m.rep.ticket, session: part.key },
  }
}

/**
 * The `Negotiate` token for a service ticket: SPNEGO offering Kerberos, with an AP-REQ whose authenticator
 * carries a fresh subkey — each attempt "with a different key" (spec §2.5's trace).
 */
export function negotiateToken(creds: Credentials, now: number): Uint8Array {
  return mutualNegotiation(creds, now).token
}

/**
 * The `Negotiate` token, and the check of the service's answer to it (RFC 4120 §3.2.5): the AP-REP sealed
 * in the ticket's session key (key usage 12) must give back the authenticator's ctime and cusec — a service
 * that does not hold the ticket's key cannot.
 */
export function mutualNegotiation(
  creds: Credentials,
  now: number,
): { readonly token: Uint8Array; readonly verify: (apRep: Uint8Array) => boolean } {
  const mutualRequired = 1 << 29
  const token = apReq(creds, now, mutualRequired, 11, { subkey: randomKey(creds.session.etype) })
  // KerberosTime carries whole seconds; the microseconds travel in cusec.
  const ctime = Math.floor(now / 1000) * 1000
  const cusec = Math.floor((now % 1000) * 1000)
  const verify = (apRep: Uint8Array): boolean => {
    try {
      const part = decodeEncApRepPart(decrypt(creds.session, 12, decodeApRep(apRep).cipher))
      return part.ctime === ctime && part.cusec === cusec
    } catch {
      return false
    }
  }
  return {
    token: negTokenInit([Mech.msKrb5, Mech.krb5], krb5Token(KrbTokId.apReq, token, Mech.msKrb5)),
    verify,
  }
}

/** The encryption types the phone asks for, by the emulator's guess. */
export const PHONE_ETYPES: Readonly<Record<'rc4-hmac' | 'aes', readonly number[]>> = {
  'rc4-hmac': [Etype.rc4],
  aes: [Etype.aes256, Etype.aes128, Etype.rc4],
}
