import { createHash, createHmac } from 'node:crypto'
import { rc4 } from './rc4.js'
import { secretKey } from './secret-key.js'

/**
 * NTLM session security ([MS-NLMP] §3.4): the key exchange that turns the session base key into the
 * exported session key, the four signing and sealing keys made from it, and the MAC a signed message
 * carries — with the RC4 sealing of the checksum when a key was exchanged, and the per-message sealing key of
 * connectionless (DATAGRAM) NTLM, which is what MS-SIPAE runs on (RC4 is core/auth/rc4.ts, which Kerberos
 * shares).
 */

/** The negotiate flags session security reads ([MS-NLMP] §2.2.2.5). */
export const SessionFlag = {
  sign: 0x00000010,
  seal: 0x00000020,
  datagram: 0x00000040,
  extendedSessionSecurity: 0x00080000,
  key128: 0x20000000,
  keyExchange: 0x40000000,
  key56: 0x80000000,
} as const

const has = (flags: number, flag: number): boolean => (flags & flag) !== 0

const md5 = (...parts: readonly (Uint8Array | string)[]): Uint8Array => {
  const h = createHash('md5')
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'latin1') : p)
  return new Uint8Array(h.digest())
}

/**
 * The exported session key ([MS-NLMP] §3.1.5.1.2 / §3.2.5.1.2): with KEY_EXCH the client's random session key,
 * sent RC4-encrypted under the key exchange key (for NTLMv2 the session base key); otherwise the key exchange
 * key itself. The server decrypts what the client encrypted: RC4 is its own inverse.
 */
export function exportedSessionKey(
  flags: number,
  keyExchangeKey: Uint8Array,
  encryptedRandomSessionKey: Uint8Array | undefined,
): Uint8Array {
  if (!has(flags, SessionFlag.keyExchange) || !encryptedRandomSessionKey?.length) return keyExchangeKey
  return rc4(keyExchangeKey, encryptedRandomSessionKey)
}

/** One direction's keys. */
export interface DirectionKeys {
  readonly sign: Uint8Array
  readonly seal: Uint8Array
}

/** Both directions' keys and the flags that say how they are used. */
export interface NtlmSessionKeys {
  readonly flags: number
  readonly client: DirectionKeys
  readonly server: DirectionKeys
}

/** SIGNKEY and SEALKEY ([MS-NLMP] §3.4.5.2–3) for both directions, extended session security. */
export function sessionKeys(flags: number, exported: Uint8Array): NtlmSessionKeys {
  const sealLength = has(flags, SessionFlag.key128) ? 16 : has(flags, SessionFlag.key56) ? 7 : 5
  const sealBase = exported.subarray(0, sealLength)
  const direction = (from: 'client-to-server' | 'server-to-client'): DirectionKeys => ({
    sign: md5(exported, `session key to ${from} signing key magic constant\0`),
    seal: md5(sealBase, `session key to ${from} sealing key magic constant\0`),
  })
  return { flags, client: direction('client-to-server'), server: direction('server-to-client') }
}

/**
 * The 16-octet signature of `message` ([MS-NLMP] §3.4.4.2, extended session security): version 1, the first
 * eight octets of HMAC_MD5(SigningKey, SeqNum ‖ Message) — RC4-sealed when a key was exchanged, under
 * MD5(SealingKey ‖ SeqNum) in connectionless mode — and SeqNum. A connection-oriented RC4 handle runs on
 * across messages; the lab signs connectionless only, so a fresh handle is the right one here.
 */
export function sealedMac(
  keys: DirectionKeys,
  flags: number,
  seqNum: number,
  message: Uint8Array,
): Uint8Array {
  const seq = Buffer.alloc(4)
  seq.writeUInt32LE(seqNum >>> 0)
  const hmac = createHmac('md5', secretKey(keys.sign)).update(seq).update(message).digest().subarray(0, 8)
  const sealKey = has(flags, SessionFlag.datagram) ? md5(keys.seal, seq) : keys.seal
  const checksum = has(flags, SessionFlag.keyExchange) ? rc4(sealKey, hmac) : hmac
  const out = Buffer.alloc(16)
  out.writeUInt32LE(1, 0)
  Buffer.from(checksum).copy(out, 4)
  seq.copy(out, 12)
  return new Uint8Array(out)
}
