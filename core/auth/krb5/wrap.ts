import { LabDecodeError } from '../../errors.js'
import { Etype, checksum, type Key } from './crypto.js'

/**
 * RFC 4121 §4.2.6.2 Wrap tokens without confidentiality (integrity only), as SASL GSSAPI (RFC 4752) uses
 * them to agree on a security layer: a 16-octet header (TOK_ID 05 04, flags, EC, RRC, sequence number), the
 * data, and a keyed checksum over data and header. AES keys only: RC4-HMAC sessions use RFC 4757's older
 * token format, which the lab does not speak (ADR 0015).
 */

export const WrapFlag = { sentByAcceptor: 0x01, sealed: 0x02, acceptorSubkey: 0x04 } as const
/**
 * Key usages (RFC 4121 §2): Wrap tokens use the SEAL usages whether sealed or not (MIT's k5sealv3.c does;
 * the SIGN usages are for MIC tokens).
 */
const ACCEPTOR_SEAL = 22
const INITIATOR_SEAL = 24

function fail(message: string): never {
  throw new LabDecodeError('LAB_ERR_KRB5_DECODE', `Failed to read a GSS Wrap token: ${message}.`, 0)
}

function header(flags: number, ec: number, rrc: number, seq: bigint): Buffer {
  const h = Buffer.alloc(16)
  h[0] = 0x05
  h[1] = 0x04
  h[2] = flags
  h[3] = 0xff
  h.writeUInt16BE(ec, 4)
  h.writeUInt16BE(rrc, 6)
  h.writeBigUInt64BE(seq, 8)
  return h
}

/**
 * An integrity-only Wrap token from the acceptor (the lab) carrying `data`; `acceptorSubkey` when `key` is
 * a subkey the acceptor sent in its AP-REP (the lab sends none; MIT's acceptor does).
 */
export function wrapAcceptor(key: Key, seq: bigint, data: Uint8Array, acceptorSubkey = false): Uint8Array {
  if (key.etype === Etype.rc4) fail('RC4-HMAC sessions use RFC 4757 tokens, which the lab does not speak')
  const flags = WrapFlag.sentByAcceptor | (acceptorSubkey ? WrapFlag.acceptorSubkey : 0)
  const sum = checksum(key, ACCEPTOR_SEAL, Buffer.concat([data, header(flags, 0, 0, seq)])).value
  return Buffer.concat([header(flags, sum.length, 0, seq), data, sum])
}

/** Reads an integrity-only Wrap token from the initiator, checking its checksum; returns the data. */
export function unwrapInitiator(key: Key, token: Uint8Array): { data: Uint8Array; seq: bigint } {
  if (key.etype === Etype.rc4) fail('RC4-HMAC sessions use RFC 4757 tokens, which the lab does not speak')
  if (token.length < 16 + 12) fail(`${token.length} octets`)
  const t = Buffer.from(token)
  if (t[0] !== 0x05 || t[1] !== 0x04 || t[3] !== 0xff) fail('not a Wrap token (TOK_ID 05 04)')
  const flags = t[2]!
  if (flags & WrapFlag.sentByAcceptor) fail('sent by the acceptor')
  if (flags & WrapFlag.sealed) fail('sealed (confidentiality), which the lab does not offer')
  const ec = t.readUInt16BE(4)
  const rrc = t.readUInt16BE(6)
  const seq = t.readBigUInt64BE(8)
  // The sender may have rotated data|checksum right by RRC octets (RFC 4121 §4.2.5): undo it.
  const body = t.subarray(16)
  const r = rrc % Math.max(body.length, 1)
  const unrotated = Buffer.concat([body.subarray(r), body.subarray(0, r)])
  if (ec > unrotated.length) fail(`EC ${ec}`)
  const data = unrotated.subarray(0, unrotated.length - ec)
  const sum = unrotated.subarray(unrotated.length - ec)
  const expected = checksum(key, INITIATOR_SEAL, Buffer.concat([data, header(flags, 0, 0, seq)])).value
  if (!Buffer.from(expected).equals(sum)) fail('the checksum does not match (wrong key or changed data)')
  return { data, seq }
}
