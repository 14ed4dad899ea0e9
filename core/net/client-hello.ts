import { LabDecodeError } from '../errors.js'

/**
 * What a TLS client offers in its ClientHello (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2), pure: read from the
 * first TLS record on a connection, before the handshake, so the journal can say what a phone offered —
 * SNI, versions, cipher suites, signature algorithms — and so what it will reject. Also SSL 2.0-compatible
 * hellos, which very old clients send.
 */
export interface ClientHello {
  /** legacy_version: 0x0301 TLS 1.0, 0x0302 TLS 1.1, 0x0303 TLS 1.2 (and 1.3 in supported_versions). */
  readonly version: number
  readonly versions: readonly number[]
  readonly serverName?: string
  readonly cipherSuites: readonly number[]
  readonly signatureAlgorithms: readonly number[]
  readonly sslv2: boolean
}

const VERSION_NAMES: Readonly<Record<number, string>> = {
  0x0300: 'SSLv3',
  0x0301: 'TLSv1',
  0x0302: 'TLSv1.1',
  0x0303: 'TLSv1.2',
  0x0304: 'TLSv1.3',
}
export const versionName = (v: number): string => VERSION_NAMES[v] ?? `0x${v.toString(16).padStart(4, '0')}`

/** Signature schemes that hash with SHA-1 (RFC 8446 §4.2.3 legacy codes; TLS 1.2 hash byte 2). */
export const usesSha1 = (scheme: number): boolean =>
  scheme >> 8 === 2 || scheme === 0x0201 || scheme === 0x0203

function fail(message: string, offset: number): never {
  throw new LabDecodeError('LAB_ERR_TLS_DECODE', message, offset)
}

/** Whether `bytes` could hold the start of a complete ClientHello record yet (undefined: not TLS at all). */
export function clientHelloLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 5) return 0
  if (bytes[0] === 0x16) return 5 + ((bytes[3]! << 8) | bytes[4]!)
  if ((bytes[0]! & 0x80) !== 0 && bytes[2] === 0x01) return 2 + (((bytes[0]! & 0x7f) << 8) | bytes[1]!)
  return undefined
}

/** Decodes the ClientHello in the first record of a connection. */
export function decodeClientHello(bytes: Uint8Array): ClientHello {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  let at = 0
  const need = (n: number, what: string): void => {
    if (at + n > b.length) fail(`the ClientHello ends inside ${what}`, at)
  }
  const u8 = (what: string): number => {
    need(1, what)
    return b[at++]!
  }
  const u16 = (what: string): number => {
    need(2, what)
    const v = b.readUInt16BE(at)
    at += 2
    return v
  }
  if (b.length > 0 && (b[0]! & 0x80) !== 0 && b[2] === 0x01) {
    // SSL 2.0-compatible CLIENT-HELLO: 3-byte cipher specs.
    at = 3
    const version = u16('the version')
    const specs = u16('the cipher-spec length')
    u16('the session-id length')
    u16('the challenge length')
    need(specs, 'the cipher specs')
    const cipherSuites: number[] = []
    for (let i = 0; i + 3 <= specs; i += 3) if (b[at + i] === 0) cipherSuites.push(b.readUInt16BE(at + i + 1))
    return { version, versions: [version], cipherSuites, signatureAlgorithms: [], sslv2: true }
  }
  if (u8('the record type') !== 0x16) fail('not a TLS handshake record', 0)
  u16('the record version')
  const recordLength = u16('the record length')
  need(recordLength, 'the record')
  const end = at + recordLength
  if (u8('the handshake type') !== 1) fail('the first handshake message is not a ClientHello', at - 1)
  need(3, 'the handshake length')
  at += 3
  const version = u16('the client version')
  need(32, 'the random')
  at += 32
  const sid = u8('the session id length')
  need(sid, 'the session id')
  at += sid
  const suitesLength = u16('the cipher suites length')
  if (suitesLength % 2 !== 0) fail('an odd cipher suites length', at)
  need(suitesLength, 'the cipher suites')
  const cipherSuites: number[] = []
  for (let i = 0; i < suitesLength; i += 2) cipherSuites.push(b.readUInt16BE(at + i))
  at += suitesLength
  const compressions = u8('the compression methods length')
  need(compressions, 'the compression methods')
  at += compressions
  let serverName: string | undefined
  let versions: number[] = [version]
  let signatureAlgorithms: number[] = []
  if (at < end) {
    const extEnd = at + 2 + u16('the extensions length')
    if (extEnd > end) fail('extensions longer than the record', at)
    while (at + 4 <= extEnd) {
      const type = u16('an extension type')
      const len = u16('an extension length')
      need(len, 'an extension')
      const body = b.subarray(at, at + len)
      at += len
      if (type === 0 && body.length >= 5 && body[2] === 0) {
        const nameLength = body.readUInt16BE(3)
        if (5 + nameLength <= body.length) serverName = body.toString('latin1', 5, 5 + nameLength)
      } else if (type === 43 && body.length >= 1) {
        versions = []
        for (let i = 1; i + 1 < 1 + body[0]! && i + 1 < body.length; i += 2)
          versions.push(body.readUInt16BE(i))
      } else if (type === 13 && body.length >= 2) {
        signatureAlgorithms = []
        const n = body.readUInt16BE(0)
        for (let i = 2; i + 1 < 2 + n && i + 1 < body.length; i += 2)
          signatureAlgorithms.push(body.readUInt16BE(i))
      }
    }
  }
  return {
    version,
    versions,
    ...(serverName !== undefined ? { serverName } : {}),
    cipherSuites,
    signatureAlgorithms,
    sslv2: false,
  }
}
