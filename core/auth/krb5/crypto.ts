import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'
import { secretKey } from '../secret-key.js'
import { rc4 } from '../rc4.js'
import { LabDecodeError } from '../../errors.js'
import { ntowfv1 } from '../ntlm.js'

/**
 * Kerberos encryption as Active Directory speaks it, on node:crypto: RC4-HMAC (23, RFC 4757) and
 * AES128/AES256-CTS-HMAC-SHA1-96 (17/18, RFC 3962 over RFC 3961's simplified profile). OpenSSL 3 has no RC4
 * in its default provider, so RC4 is ours; MD4 is the NTLM module's (the RC4 key is the NT hash).
 */

export const Etype = { aes256: 18, aes128: 17, rc4: 23 } as const
export const ETYPE_NAMES: Readonly<Record<number, string>> = {
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  23: 'rc4-hmac',
}

/** Checksum types ([RFC 3961] §7, RFC 4757): hmac-sha1-96-aes128/256 and hmac-md5 (-138). */
export const Cksumtype = { hmacSha1Aes128: 15, hmacSha1Aes256: 16, hmacMd5: -138 } as const

export interface Key {
  readonly etype: number
  readonly bytes: Uint8Array
}

function fail(message: string): never {
  throw new LabDecodeError('LAB_ERR_KRB5_CRYPTO', `Kerberos crypto: ${message}.`, 0)
}

const hmac = (alg: 'md5' | 'sha1', key: Uint8Array, ...data: Uint8Array[]): Buffer => {
  const h = createHmac(alg, secretKey(key))
  for (const d of data) h.update(d)
  return h.digest()
}

/** Microsoft's message types for the key usages (RFC 4757 §3; MIT's translation: usage 3 is 8, 23 is 13). */
function msUsage(usage: number): number {
  return usage === 3 ? 8 : usage === 23 ? 13 : usage
}

const le32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}

function rc4Encrypt(
  key: Uint8Array,
  usage: number,
  plaintext: Uint8Array,
  confounder: Uint8Array,
): Uint8Array {
  const k1 = hmac('md5', key, le32(msUsage(usage)))
  const checksum = hmac('md5', k1, confounder, plaintext)
  const k3 = hmac('md5', k1, checksum)
  return Buffer.concat([checksum, rc4(k3, Buffer.concat([confounder, plaintext]))])
}

function rc4Decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length < 24) fail(`an RC4-HMAC ciphertext of ${ciphertext.length} octets`)
  const checksum = ciphertext.subarray(0, 16)
  const k1 = hmac('md5', key, le32(msUsage(usage)))
  const k3 = hmac('md5', k1, checksum)
  const plain = rc4(k3, ciphertext.subarray(16))
  if (!timingSafeEqual(hmac('md5', k1, plain), checksum)) fail('integrity check failed (wrong key?)')
  return plain.subarray(8)
}

/** The RC4-HMAC checksum (hmac-md5, -138) over data for a key usage (RFC 4757 §4). */
function rc4Checksum(key: Uint8Array, usage: number, data: Uint8Array): Uint8Array {
  const ksign = hmac('md5', key, Buffer.from('signaturekey\0', 'latin1'))
  const inner = createHash('md5')
    .update(le32(msUsage(usage)))
    .update(data)
    .digest()
  return hmac('md5', ksign, inner)
}

// --------------------------------------------------------------------------------------------- n-fold

/** RFC 3961 §5.1 n-fold: the input rotated and added in ones'-complement to fill `bytes` octets. */
export function nfold(input: Uint8Array, bytes: number): Uint8Array {
  const n = input.length
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))
  const lcm = (n * bytes) / gcd(bytes, n)
  const out = new Array<number>(bytes).fill(0)
  let carry = 0
  for (let i = lcm - 1; i >= 0; i--) {
    // The most significant bit of the input that lands on output byte i % bytes: each repetition of the
    // input is rotated 13 bits to the right (MIT's formulation).
    const msbit = ((n << 3) - 1 + ((n << 3) + 13) * Math.floor(i / n) + ((n - (i % n)) << 3)) % (n << 3)
    const hi = input[(n - 1 - (msbit >> 3)) % n]!
    const lo = input[(n - (msbit >> 3)) % n]!
    carry += (((hi << 8) | lo) >> ((msbit & 7) + 1)) & 0xff
    carry += out[i % bytes]!
    out[i % bytes] = carry & 0xff
    carry >>= 8
  }
  for (let i = bytes - 1; i >= 0 && carry; i--) {
    carry += out[i]!
    out[i] = carry & 0xff
    carry >>= 8
  }
  return Uint8Array.from(out)
}

// --------------------------------------------------------------------------------------------- AES

const aesName = (key: Uint8Array): string => (key.length === 16 ? 'aes-128' : 'aes-256')

function aesEcbBlock(key: Uint8Array, block: Uint8Array): Buffer {
  const c = createCipheriv(`${aesName(key)}-ecb`, secretKey(key), null)
  c.setAutoPadding(false)
  return Buffer.concat([c.update(block), c.final()])
}

/** AES in CBC with ciphertext stealing (RFC 3962 §5: CBC-CS3, the last two blocks swapped), IV zero. */
export function aesCtsEncrypt(key: Uint8Array, plain: Uint8Array): Uint8Array {
  if (plain.length < 16) fail('AES-CTS needs at least one block')
  const iv = Buffer.alloc(16)
  if (plain.length === 16) return aesEcbBlock(key, plain)
  const padded = Buffer.alloc(Math.ceil(plain.length / 16) * 16)
  Buffer.from(plain).copy(padded)
  const c = createCipheriv(`${aesName(key)}-cbc`, secretKey(key), iv)
  c.setAutoPadding(false)
  const cbc = Buffer.concat([c.update(padded), c.final()])
  const n = cbc.length / 16
  const lastLen = plain.length - (n - 1) * 16
  const last = cbc.subarray((n - 1) * 16, n * 16)
  const penult = cbc.subarray((n - 2) * 16, (n - 1) * 16)
  return Buffer.concat([cbc.subarray(0, (n - 2) * 16), last, penult.subarray(0, lastLen)])
}

export function aesCtsDecrypt(key: Uint8Array, cipher: Uint8Array): Uint8Array {
  if (cipher.length < 16) fail('AES-CTS needs at least one block')
  if (cipher.length === 16) {
    const d = createDecipheriv(`${aesName(key)}-ecb`, secretKey(key), null)
    d.setAutoPadding(false)
    return Buffer.concat([d.update(cipher), d.final()])
  }
  const n = Math.ceil(cipher.length / 16)
  const lastLen = cipher.length - (n - 1) * 16
  const before = Buffer.from(cipher.subarray(0, (n - 2) * 16))
  const cPenult = cipher.subarray((n - 2) * 16, (n - 1) * 16) // this is E(last full) in CS3 order
  const cLast = cipher.subarray((n - 1) * 16)
  // Decrypt the swapped block with ECB to recover the tail of the penultimate CBC block.
  const dn = createDecipheriv(`${aesName(key)}-ecb`, secretKey(key), null)
  dn.setAutoPadding(false)
  const x = Buffer.concat([dn.update(cPenult), dn.final()])
  const full = Buffer.concat([cLast, x.subarray(lastLen)])
  const reordered = Buffer.concat([before, full, cPenult])
  const d = createDecipheriv(`${aesName(key)}-cbc`, secretKey(key), Buffer.alloc(16))
  d.setAutoPadding(false)
  const plain = Buffer.concat([d.update(reordered), d.final()])
  return plain.subarray(0, cipher.length)
}

/** RFC 3961 §5.1 DR/DK for AES: blocks of E(key, n-fold(constant)) chained until the key is full. */
export function deriveKey(key: Uint8Array, constant: Uint8Array): Uint8Array {
  const out: Buffer[] = []
  let block: Uint8Array = nfold(constant, 16)
  let have = 0
  while (have < key.length) {
    const next = aesEcbBlock(key, block)
    out.push(next)
    have += 16
    block = next
  }
  return Buffer.concat(out).subarray(0, key.length)
}

const usageConstant = (usage: number, kind: 0xaa | 0x55 | 0x99): Buffer => {
  const b = Buffer.alloc(5)
  b.writeUInt32BE(usage >>> 0)
  b[4] = kind
  return b
}

function aesEncrypt(
  key: Uint8Array,
  usage: number,
  plaintext: Uint8Array,
  confounder: Uint8Array,
): Uint8Array {
  const ke = deriveKey(key, usageConstant(usage, 0xaa))
  const ki = deriveKey(key, usageConstant(usage, 0x55))
  const plain = Buffer.concat([confounder, plaintext])
  return Buffer.concat([aesCtsEncrypt(ke, plain), hmac('sha1', ki, plain).subarray(0, 12)])
}

function aesDecrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length < 16 + 12) fail(`an AES ciphertext of ${ciphertext.length} octets`)
  const ke = deriveKey(key, usageConstant(usage, 0xaa))
  const ki = deriveKey(key, usageConstant(usage, 0x55))
  const body = ciphertext.subarray(0, ciphertext.length - 12)
  const mac = ciphertext.subarray(ciphertext.length - 12)
  const plain = aesCtsDecrypt(ke, body)
  if (!timingSafeEqual(hmac('sha1', ki, plain).subarray(0, 12), mac))
    fail('integrity check failed (wrong key?)')
  return plain.subarray(16)
}

// --------------------------------------------------------------------------------------------- API

/** Encrypts for a key usage ([RFC 4120] §7.5.1), with a random confounder unless one is given (tests). */
export function encrypt(key: Key, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Uint8Array {
  if (key.etype === Etype.rc4) return rc4Encrypt(key.bytes, usage, plaintext, confounder ?? randomBytes(8))
  if (key.etype === Etype.aes128 || key.etype === Etype.aes256)
    return aesEncrypt(key.bytes, usage, plaintext, confounder ?? randomBytes(16))
  return fail(`encryption type ${key.etype} is not offered by the lab`)
}

/** Decrypts and checks integrity; throws a LabDecodeError when the key is wrong or the data was changed. */
export function decrypt(key: Key, usage: number, ciphertext: Uint8Array): Uint8Array {
  if (key.etype === Etype.rc4) return rc4Decrypt(key.bytes, usage, ciphertext)
  if (key.etype === Etype.aes128 || key.etype === Etype.aes256)
    return aesDecrypt(key.bytes, usage, ciphertext)
  return fail(`encryption type ${key.etype} is not offered by the lab`)
}

/** The keyed checksum of the key's etype (hmac-sha1-96-aes*, hmac-md5) over data for a key usage. */
export function checksum(key: Key, usage: number, data: Uint8Array): { type: number; value: Uint8Array } {
  if (key.etype === Etype.rc4) return { type: Cksumtype.hmacMd5, value: rc4Checksum(key.bytes, usage, data) }
  const kc = deriveKey(key.bytes, usageConstant(usage, 0x99))
  return {
    type: key.etype === Etype.aes128 ? Cksumtype.hmacSha1Aes128 : Cksumtype.hmacSha1Aes256,
    value: hmac('sha1', kc, data).subarray(0, 12),
  }
}

/** The default PBKDF2 iteration count of AES string-to-key (RFC 3962 §4). */
export const AES_ITERATIONS = 4096

/** A long-term key from a password: the NT hash for RC4; PBKDF2 + DK("kerberos") for AES (RFC 3962 §4). */
export function stringToKey(etype: number, password: string, salt: string, iterations = AES_ITERATIONS): Key {
  if (etype === Etype.rc4) return { etype, bytes: ntowfv1(password) }
  if (etype !== Etype.aes128 && etype !== Etype.aes256)
    fail(`encryption type ${etype} is not offered by the lab`)
  const length = etype === Etype.aes128 ? 16 : 32
  const tkey = pbkdf2Sync(
    Buffer.from(password, 'utf8'),
    Buffer.from(salt, 'utf8'),
    iterations,
    length,
    'sha1',
  )
  return { etype, bytes: deriveKey(tkey, Buffer.from('kerberos', 'latin1')) }
}

/** A random key of an etype (session keys, ticket keys). */
export function randomKey(etype: number): Key {
  return { etype, bytes: randomBytes(etype === Etype.aes128 || etype === Etype.rc4 ? 16 : 32) }
}
