import { timingSafeEqual } from 'node:crypto'
import { sealedMac, type NtlmSessionKeys } from '../../core/auth/ntlm-session.js'
import { signatureBuffer, type SipMessage } from './codec.js'

/**
 * MS-SIPAE message signatures on an NTLM security association, for both ends: a client signs its requests
 * with the client keys (`crand`, `cnum`, `response`), the server its responses with the server keys
 * (`srand`, `snum`, `rspauth` in Authentication-Info). Pure: the pool and the emulator share it as they
 * share the SIP codec.
 */

/**
 * The NTLM sequence number of every MS-SIPAE signature. Communicator and OCS 2007 R2 both sign with 100,
 * whatever `cnum`/`snum` say (sipe's recorded exchange: both signatures end in `64000000`, and sipe signs and
 * verifies every message with 100 against real pools).
 */
export const SIPAE_SEQUENCE = 100

/** What signs and checks messages on one security association. */
export interface NtlmAssociation {
  readonly keys: NtlmSessionKeys
  /** The authentication protocol version negotiated (2, 3 or 4): it chooses the signature buffer. */
  readonly version: number
  readonly realm: string
  readonly targetname: string
}

/** The 32 hex digits one side signs `m` with (rand and num as the message's auth header carries them). */
export function signature(
  m: SipMessage,
  sa: NtlmAssociation,
  side: 'client' | 'server',
  rand: string,
  num: string,
): string {
  const buffer = signatureBuffer(m, {
    version: sa.version,
    scheme: 'NTLM',
    rand,
    num,
    realm: sa.realm,
    targetname: sa.targetname,
  })
  return Buffer.from(sealedMac(sa.keys[side], sa.keys.flags, SIPAE_SEQUENCE, Buffer.from(buffer))).toString(
    'hex',
  )
}

/** Whether `response` (hex, any case) is `side`'s signature of `m`. */
export function verifySignature(
  m: SipMessage,
  sa: NtlmAssociation,
  side: 'client' | 'server',
  p: { readonly rand: string; readonly num: string; readonly response: string },
): boolean {
  const expected = Buffer.from(signature(m, sa, side, p.rand, p.num), 'hex')
  const got = Buffer.from(p.response, 'hex')
  return got.length === expected.length && timingSafeEqual(got, expected)
}
