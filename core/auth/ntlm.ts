import { createCipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { secretKey } from './secret-key.js'
import { exportedSessionKey, sessionKeys, type NtlmSessionKeys } from './ntlm-session.js'
import { rc4 } from './rc4.js'
import { LabDecodeError } from '../errors.js'

/**
 * NTLM for the lab's servers ([MS-NLMP]): the messages (NEGOTIATE, CHALLENGE, AUTHENTICATE), the one-way
 * functions, and verification of NTLMv1, NTLMv1 with extended session security, and NTLMv2 responses
 * against a password the scenario knows. Shared by the HTTP doubles (/certsrv, Autodiscover, EWS) and the
 * OCS registrar. Node's OpenSSL 3 has neither MD4 nor single DES (legacy provider): MD4 is written here,
 * and DES runs as 3DES-EDE with one key three times, which is single DES.
 */

// ------------------------------------------------------------------------------------------------- MD4

/** MD4 (RFC 1320). */
export function md4(input: Uint8Array): Uint8Array {
  const bitLen = input.length * 8
  const padded = new Uint8Array(((input.length + 8) >> 6) * 64 + 64)
  padded.set(input)
  padded[input.length] = 0x80
  const dv = new DataView(padded.buffer)
  dv.setUint32(padded.length - 8, bitLen >>> 0, true)
  dv.setUint32(padded.length - 4, Math.floor(bitLen / 2 ** 32), true)
  let a = 0x67452301
  let b = 0xefcdab89
  let c = 0x98badcfe
  let d = 0x10325476
  const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n))
  const x = new Uint32Array(16)
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = dv.getUint32(off + i * 4, true)
    const [aa, bb, cc, dd] = [a, b, c, d]
    const f = (p: number, q: number, r: number): number => (p & q) | (~p & r)
    const g = (p: number, q: number, r: number): number => (p & q) | (p & r) | (q & r)
    const h = (p: number, q: number, r: number): number => p ^ q ^ r
    for (const i of [0, 4, 8, 12]) {
      a = rotl((a + f(b, c, d) + x[i]!) | 0, 3)
      d = rotl((d + f(a, b, c) + x[i + 1]!) | 0, 7)
      c = rotl((c + f(d, a, b) + x[i + 2]!) | 0, 11)
      b = rotl((b + f(c, d, a) + x[i + 3]!) | 0, 19)
    }
    for (const i of [0, 1, 2, 3]) {
      a = rotl((a + g(b, c, d) + x[i]! + 0x5a827999) | 0, 3)
      d = rotl((d + g(a, b, c) + x[i + 4]! + 0x5a827999) | 0, 5)
      c = rotl((c + g(d, a, b) + x[i + 8]! + 0x5a827999) | 0, 9)
      b = rotl((b + g(c, d, a) + x[i + 12]! + 0x5a827999) | 0, 13)
    }
    for (const i of [0, 2, 1, 3]) {
      a = rotl((a + h(b, c, d) + x[i]! + 0x6ed9eba1) | 0, 3)
      d = rotl((d + h(a, b, c) + x[i + 8]! + 0x6ed9eba1) | 0, 9)
      c = rotl((c + h(d, a, b) + x[i + 4]! + 0x6ed9eba1) | 0, 11)
      b = rotl((b + h(c, d, a) + x[i + 12]! + 0x6ed9eba1) | 0, 15)
    }
    a = (a + aa) | 0
    b = (b + bb) | 0
    c = (c + cc) | 0
    d = (d + dd) | 0
  }
  const out = new Uint8Array(16)
  const o = new DataView(out.buffer)
  ;[a, b, c, d].forEach((v, i) => o.setUint32(i * 4, v >>> 0, true))
  return out
}

// ------------------------------------------------------------------------------------- one-way functions

const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le')

/** NTOWFv1: MD4 of the UTF-16LE password (the "NT hash"). */
export function ntowfv1(password: string): Uint8Array {
  return md4(utf16(password))
}

/** NTOWFv2: HMAC-MD5(NT hash, UPPER(user) + domain). */
export function ntowfv2(password: string, user: string, domain: string): Uint8Array {
  return new Uint8Array(
    createHmac('md5', secretKey(ntowfv1(password)))
      .update(utf16(user.toUpperCase() + domain))
      .digest(),
  )
}

/** A 7-octet key spread over 8 (the low bit of each is parity, which DES ignores). */
function desKey(seven: Uint8Array): Buffer {
  const k = Buffer.alloc(8)
  k[0] = seven[0]!
  k[1] = ((seven[0]! << 7) | (seven[1]! >> 1)) & 0xff
  k[2] = ((seven[1]! << 6) | (seven[2]! >> 2)) & 0xff
  k[3] = ((seven[2]! << 5) | (seven[3]! >> 3)) & 0xff
  k[4] = ((seven[3]! << 4) | (seven[4]! >> 4)) & 0xff
  k[5] = ((seven[4]! << 3) | (seven[5]! >> 5)) & 0xff
  k[6] = ((seven[5]! << 2) | (seven[6]! >> 6)) & 0xff
  k[7] = (seven[6]! << 1) & 0xff
  return k
}

function des(key7: Uint8Array, block: Uint8Array): Buffer {
  const k = desKey(key7)
  const c = createCipheriv('des-ede3-ecb', secretKey(Buffer.concat([k, k, k])), null)
  c.setAutoPadding(false)
  return Buffer.concat([c.update(block), c.final()])
}

/** DESL ([MS-NLMP] §6): three DES encryptions of `data` under the 16-octet key padded to 21. */
export function desl(key16: Uint8Array, data: Uint8Array): Uint8Array {
  const k = new Uint8Array(21)
  k.set(key16)
  return new Uint8Array(
    Buffer.concat([des(k.subarray(0, 7), data), des(k.subarray(7, 14), data), des(k.subarray(14, 21), data)]),
  )
}

// ------------------------------------------------------------------------------------------------ messages

export const NtlmFlag = {
  unicode: 0x00000001,
  oem: 0x00000002,
  requestTarget: 0x00000004,
  sign: 0x00000010,
  seal: 0x00000020,
  datagram: 0x00000040,
  lmKey: 0x00000080,
  ntlm: 0x00000200,
  alwaysSign: 0x00008000,
  targetTypeDomain: 0x00010000,
  extendedSessionSecurity: 0x00080000,
  identify: 0x00100000,
  targetInfo: 0x00800000,
  version: 0x02000000,
  key128: 0x20000000,
  keyExchange: 0x40000000,
  key56: 0x80000000,
} as const

/**
 * What a connectionless client keeps of a CHALLENGE's flags ([MS-NLMP] §3.1.5.2.1: the connection-based set
 * plus SIGN, DATAGRAM, IDENTIFY and KEY_EXCH, which connectionless NTLM requires).
 */
const CONNECTIONLESS_FLAGS =
  NtlmFlag.unicode |
  NtlmFlag.ntlm |
  NtlmFlag.alwaysSign |
  NtlmFlag.extendedSessionSecurity |
  NtlmFlag.targetInfo |
  NtlmFlag.version |
  NtlmFlag.key128 |
  NtlmFlag.key56 |
  NtlmFlag.requestTarget |
  NtlmFlag.sign |
  NtlmFlag.datagram |
  NtlmFlag.identify |
  NtlmFlag.keyExchange

/** The VERSION field ([MS-NLMP] §2.2.2.10): Windows Server 2003's 5.2.3790, NTLM revision 15, as OCS 2007 R2 sent. */
export const WINDOWS_2003_VERSION = Uint8Array.of(5, 2, 0xce, 0x0e, 0, 0, 0, 0x0f)

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1')

export type NtlmMessage =
  | { readonly type: 1; readonly flags: number; readonly domain: string; readonly workstation: string }
  | {
      readonly type: 2
      readonly flags: number
      readonly serverChallenge: Uint8Array
      readonly targetName: string
      readonly targetInfo: Uint8Array
    }
  | {
      readonly type: 3
      readonly flags: number
      readonly lmResponse: Uint8Array
      readonly ntResponse: Uint8Array
      readonly domain: string
      readonly user: string
      readonly workstation: string
      /** The RC4-encrypted random session key (KEY_EXCH), empty when none was sent. */
      readonly encryptedSessionKey: Uint8Array
    }

function fail(message: string, offset: number): never {
  throw new LabDecodeError('LAB_ERR_NTLM_DECODE', `Failed to decode NTLM: ${message}.`, offset)
}

/** Decodes an NTLMSSP message (the bytes after `NTLM ` / `Negotiate ` in a header, base64-decoded). */
export function decodeNtlm(buf: Uint8Array): NtlmMessage {
  const b = Buffer.from(buf)
  if (b.length < 12 || !b.subarray(0, 8).equals(SIGNATURE)) fail('no NTLMSSP signature', 0)
  const type = b.readUInt32LE(8)
  const field = (at: number, what: string): Buffer => {
    if (at + 8 > b.length) fail(`the ${what} field header is cut off`, at)
    const len = b.readUInt16LE(at)
    const off = b.readUInt32LE(at + 4)
    if (off + len > b.length) fail(`the ${what} field runs past the message`, at)
    return b.subarray(off, off + len)
  }
  const text = (f: Buffer, unicode: boolean): string =>
    unicode ? f.toString('utf16le') : f.toString('latin1')
  if (type === 1) {
    const flags = b.length >= 16 ? b.readUInt32LE(12) : 0
    const unicode = false
    return {
      type: 1,
      flags,
      domain: b.length >= 24 ? text(field(16, 'domain'), unicode) : '',
      workstation: b.length >= 32 ? text(field(24, 'workstation'), unicode) : '',
    }
  }
  if (type === 2) {
    if (b.length < 32) fail('a CHALLENGE is shorter than 32 octets', 0)
    const flags = b.readUInt32LE(20)
    return {
      type: 2,
      flags,
      serverChallenge: new Uint8Array(b.subarray(24, 32)),
      targetName: text(field(12, 'target name'), (flags & NtlmFlag.unicode) !== 0),
      targetInfo: b.length >= 48 ? new Uint8Array(field(40, 'target info')) : new Uint8Array(0),
    }
  }
  if (type === 3) {
    if (b.length < 64) fail('an AUTHENTICATE is shorter than 64 octets', 0)
    const flags = b.readUInt32LE(60)
    const unicode = (flags & NtlmFlag.unicode) !== 0
    return {
      type: 3,
      flags,
      lmResponse: new Uint8Array(field(12, 'LM response')),
      ntResponse: new Uint8Array(field(20, 'NT response')),
      domain: text(field(28, 'domain'), unicode),
      user: text(field(36, 'user'), unicode),
      workstation: text(field(44, 'workstation'), unicode),
      encryptedSessionKey: new Uint8Array(field(52, 'session key')),
    }
  }
  return fail(`message type ${type}`, 8)
}

/** AV pairs for a CHALLENGE's target info ([MS-NLMP] §2.2.2.1): NetBIOS domain and computer, DNS names, EOL. */
export function targetInfo(pairs: readonly [id: number, value: string][]): Uint8Array {
  const parts: Buffer[] = []
  for (const [id, value] of pairs) {
    const v = utf16(value)
    const h = Buffer.alloc(4)
    h.writeUInt16LE(id, 0)
    h.writeUInt16LE(v.length, 2)
    parts.push(h, v)
  }
  parts.push(Buffer.alloc(4))
  return new Uint8Array(Buffer.concat(parts))
}

/** A CHALLENGE (type 2) message answering a NEGOTIATE. */
export function encodeChallenge(options: {
  flags: number
  serverChallenge: Uint8Array
  targetName: string
  targetInfo: Uint8Array
  /** The VERSION field (8 octets), sent when the flags carry NTLMSSP_NEGOTIATE_VERSION. */
  version?: Uint8Array
}): Uint8Array {
  const name = utf16(options.targetName)
  const size = options.version ? 56 : 48
  const head = Buffer.alloc(size)
  SIGNATURE.copy(head, 0)
  head.writeUInt32LE(2, 8)
  head.writeUInt16LE(name.length, 12)
  head.writeUInt16LE(name.length, 14)
  head.writeUInt32LE(size, 16)
  head.writeUInt32LE(options.flags >>> 0, 20)
  Buffer.from(options.serverChallenge).copy(head, 24)
  head.writeUInt16LE(options.targetInfo.length, 40)
  head.writeUInt16LE(options.targetInfo.length, 42)
  head.writeUInt32LE(size + name.length, 44)
  if (options.version) Buffer.from(options.version).copy(head, 48)
  return new Uint8Array(Buffer.concat([head, name, options.targetInfo]))
}

/**
 * The CHALLENGE a lab server sends: NTLM with 128/56-bit keys, the NetBIOS domain as target, and target info
 * naming the domain and the server (short and DNS names). `extra` adds flags (extended session security when
 * the client asked for it; DATAGRAM for MS-SIP's connectionless NTLM).
 */
export function serverChallenge(
  serverChallenge: Uint8Array,
  domain: string,
  host: string,
  extra = 0,
): Uint8Array {
  return encodeChallenge({
    flags:
      NtlmFlag.unicode |
      NtlmFlag.ntlm |
      NtlmFlag.requestTarget |
      NtlmFlag.targetInfo |
      NtlmFlag.targetTypeDomain |
      NtlmFlag.alwaysSign |
      NtlmFlag.key128 |
      NtlmFlag.key56 |
      extra,
    serverChallenge,
    targetName: domain,
    targetInfo: targetInfo([
      [2, domain],
      [1, host.split('.')[0]!.toUpperCase()],
      [3, host],
    ]),
  })
}

/**
 * The CHALLENGE an OCS 2007 R2 front end sends in MS-SIPAE's connectionless NTLM, shaped as the recorded one
 * (sipe's `sip-sec-ntlm-tests.c`): flags 0xE29882F3 (SIGN, SEAL, DATAGRAM, LM_KEY, IDENTIFY, KEY_EXCH, VERSION,
 * extended session security), no target name, AV pairs NetBIOS domain, NetBIOS computer, DNS domain, DNS
 * computer, DNS tree, and Windows Server 2003's version.
 */
export function connectionlessChallenge(
  serverChallenge: Uint8Array,
  names: { readonly netbiosDomain: string; readonly host: string; readonly dnsDomain: string },
): Uint8Array {
  return encodeChallenge({
    flags: 0xe29882f3,
    serverChallenge,
    targetName: '',
    targetInfo: targetInfo([
      [2, names.netbiosDomain],
      [1, names.host.split('.')[0]!.toUpperCase()],
      [4, names.dnsDomain],
      [3, names.host],
      [5, names.dnsDomain],
    ]),
    version: WINDOWS_2003_VERSION,
  })
}

export function newServerChallenge(): Uint8Array {
  return new Uint8Array(randomBytes(8))
}

// ------------------------------------------------------------------------------------------- verification

export type NtlmVersion = 'NTLMv2' | 'NTLMv1' | 'NTLMv1-ESS'

/** The NTLMv2 proof the client should have computed ([MS-NLMP] §3.3.2). */
export function ntProofStr(
  responseKeyNT: Uint8Array,
  serverChallenge: Uint8Array,
  temp: Uint8Array,
): Uint8Array {
  return new Uint8Array(
    createHmac('md5', secretKey(responseKeyNT)).update(serverChallenge).update(temp).digest(),
  )
}

/**
 * Checks an AUTHENTICATE's NT response against a password: NTLMv2 (the response is longer than 24 octets),
 * NTLMv1 with extended session security (the LM response is the client challenge and zeros), or NTLMv1.
 * Returns the version that matched, or undefined for a wrong password.
 */
export function verifyNtlm(
  auth: Extract<NtlmMessage, { type: 3 }>,
  serverChallenge: Uint8Array,
  password: string,
): NtlmVersion | undefined {
  const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b)
  const nt = auth.ntResponse
  if (nt.length > 24) {
    const key = ntowfv2(password, auth.user, auth.domain)
    return same(ntProofStr(key, serverChallenge, nt.subarray(16)), nt.subarray(0, 16)) ? 'NTLMv2' : undefined
  }
  if (nt.length !== 24) return undefined
  const hash = ntowfv1(password)
  if ((auth.flags & NtlmFlag.extendedSessionSecurity) !== 0 && auth.lmResponse.length === 24) {
    // [MS-NLMP] §3.3.1 with ESS: DESL(NT hash, MD5(ServerChallenge + ClientChallenge)[0..8])
    const sessionHash = createHash('md5')
      .update(serverChallenge)
      .update(auth.lmResponse.subarray(0, 8))
      .digest()
      .subarray(0, 8)
    return same(desl(hash, sessionHash), nt) ? 'NTLMv1-ESS' : undefined
  }
  return same(desl(hash, serverChallenge), nt) ? 'NTLMv1' : undefined
}

// ------------------------------------------------------------------------------------ session and signing

/**
 * The NTLMv2 session base key ([MS-NLMP] §3.3.2: HMAC_MD5(ResponseKeyNT, NTProofStr)), which for NTLMv2 is
 * also the key exchange key.
 */
export function ntlmv2SessionKey(
  auth: Extract<NtlmMessage, { type: 3 }>,
  password: string,
): Uint8Array | undefined {
  if (auth.ntResponse.length <= 24) return undefined
  const key = ntowfv2(password, auth.user, auth.domain)
  return new Uint8Array(createHmac('md5', secretKey(key)).update(auth.ntResponse.subarray(0, 16)).digest())
}

/**
 * The server's view of an NTLMv2 session: the exported session key (decrypting the client's random session
 * key when KEY_EXCH was negotiated) and the four keys made from it. Undefined for NTLMv1, whose keys the lab
 * does not derive.
 */
export function serverSessionKeys(
  auth: Extract<NtlmMessage, { type: 3 }>,
  password: string,
): NtlmSessionKeys | undefined {
  const base = ntlmv2SessionKey(auth, password)
  return base && sessionKeys(auth.flags, exportedSessionKey(auth.flags, base, auth.encryptedSessionKey))
}

// ------------------------------------------------------------------------------------------- client side

/** A NEGOTIATE (type 1) message, as a client opens the handshake with. */
export function encodeNegotiate(): Uint8Array {
  const b = Buffer.alloc(32)
  SIGNATURE.copy(b, 0)
  b.writeUInt32LE(1, 8)
  b.writeUInt32LE(
    (NtlmFlag.unicode |
      NtlmFlag.ntlm |
      NtlmFlag.requestTarget |
      NtlmFlag.alwaysSign |
      NtlmFlag.extendedSessionSecurity) >>>
      0,
    12,
  )
  return new Uint8Array(b)
}

/**
 * An AUTHENTICATE (type 3) with an NTLMv2 response to a CHALLENGE ([MS-NLMP] §3.3.2), as the emulated
 * phone sends it. `clientChallenge` and `timestamp` are parameters so that tests can pin them.
 */
export function encodeAuthenticate(options: AuthenticateOptions): Uint8Array {
  return authenticateWithKey(options).message
}

export interface AuthenticateOptions {
  readonly challenge: Extract<NtlmMessage, { type: 2 }>
  readonly user: string
  readonly domain: string
  readonly password: string
  readonly workstation: string
  readonly clientChallenge?: Uint8Array
  /** Windows FILETIME (100 ns since 1601). */
  readonly timestamp?: bigint
  /** With KEY_EXCH: the random session key the client makes (random unless a test pins it). */
  readonly randomSessionKey?: Uint8Array
}

/** The flags a client answers a CHALLENGE with (connectionless: [MS-NLMP] §3.1.5.2.1; else the server's). */
function answerFlags(challengeFlags: number): number {
  if ((challengeFlags & NtlmFlag.datagram) === 0) return (challengeFlags | NtlmFlag.unicode) >>> 0
  const flags = (challengeFlags & CONNECTIONLESS_FLAGS) | NtlmFlag.requestTarget
  return ((flags & NtlmFlag.key128) !== 0 ? flags & ~NtlmFlag.key56 : flags) >>> 0
}

/** The NTLMv2 NT and LMv2 responses and the session base key ([MS-NLMP] §3.3.2). */
function ntlmv2Responses(options: AuthenticateOptions): { nt: Buffer; lm: Buffer; base: Uint8Array } {
  const { challenge } = options
  const key = ntowfv2(options.password, options.user, options.domain)
  const time = Buffer.alloc(8)
  time.writeBigUInt64LE(options.timestamp ?? BigInt(Date.now()) * 10_000n + 116_444_736_000_000_000n)
  const clientChallenge = Buffer.from(options.clientChallenge ?? randomBytes(8))
  const temp = Buffer.concat([
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]),
    time,
    clientChallenge,
    Buffer.alloc(4),
    Buffer.from(challenge.targetInfo),
    Buffer.alloc(4),
  ])
  const proof = ntProofStr(key, challenge.serverChallenge, temp)
  const hmac = (...parts: Uint8Array[]): Buffer => {
    const h = createHmac('md5', secretKey(key))
    for (const p of parts) h.update(p)
    return h.digest()
  }
  return {
    nt: Buffer.concat([Buffer.from(proof), temp]),
    lm: Buffer.concat([hmac(challenge.serverChallenge, clientChallenge), clientChallenge]),
    base: new Uint8Array(hmac(proof)),
  }
}

/**
 * The AUTHENTICATE, laid out as Windows lays it out (a 72-octet header with VERSION; domain, user,
 * workstation, LMv2, NTLMv2, encrypted session key), and the session keys both ends now share.
 */
export function authenticateWithKey(options: AuthenticateOptions): {
  message: Uint8Array
  keys: NtlmSessionKeys
} {
  const flags = answerFlags(options.challenge.flags)
  const { nt, lm, base } = ntlmv2Responses(options)
  const exchange = (flags & NtlmFlag.keyExchange) !== 0
  const random = exchange ? (options.randomSessionKey ?? new Uint8Array(randomBytes(16))) : undefined
  const encrypted = Buffer.from(random ? rc4(base, random) : new Uint8Array(0))
  const payload = [utf16(options.domain), utf16(options.user), utf16(options.workstation), lm, nt, encrypted]
  const slots = [28, 36, 44, 12, 20, 52]
  const head = Buffer.alloc(72)
  SIGNATURE.copy(head, 0)
  head.writeUInt32LE(3, 8)
  let offset = head.length
  payload.forEach((f, i) => {
    head.writeUInt16LE(f.length, slots[i])
    head.writeUInt16LE(f.length, slots[i]! + 2)
    head.writeUInt32LE(offset, slots[i]! + 4)
    offset += f.length
  })
  head.writeUInt32LE(flags, 60)
  if ((flags & NtlmFlag.version) !== 0) Buffer.from(WINDOWS_2003_VERSION).copy(head, 64)
  return {
    message: new Uint8Array(Buffer.concat([head, ...payload])),
    keys: sessionKeys(flags, random ?? base),
  }
}
