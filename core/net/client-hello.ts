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

/** A cursor over the record that fails, naming what it was reading, when the octets end too soon. */
class Reader {
  at = 0
  constructor(readonly b: Buffer) {}
  need(n: number, what: string): void {
    if (this.at + n > this.b.length) fail(`the ClientHello ends inside ${what}`, this.at)
  }
  u8(what: string): number {
    this.need(1, what)
    return this.b[this.at++]!
  }
  u16(what: string): number {
    this.need(2, what)
    const v = this.b.readUInt16BE(this.at)
    this.at += 2
    return v
  }
  skip(n: number, what: string): void {
    this.need(n, what)
    this.at += n
  }
}

/** Decodes the ClientHello in the first record of a connection. */
export function decodeClientHello(bytes: Uint8Array): ClientHello {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length))
  const b = r.b
  if (b.length > 0 && (b[0]! & 0x80) !== 0 && b[2] === 0x01) return sslv2Hello(r)
  if (r.u8('the record type') !== 0x16) fail('not a TLS handshake record', 0)
  r.u16('the record version')
  const recordLength = r.u16('the record length')
  r.need(recordLength, 'the record')
  const end = r.at + recordLength
  if (r.u8('the handshake type') !== 1) fail('the first handshake message is not a ClientHello', r.at - 1)
  r.skip(3, 'the handshake length')
  const version = r.u16('the client version')
  r.skip(32, 'the random')
  r.skip(r.u8('the session id length'), 'the session id')
  const suitesLength = r.u16('the cipher suites length')
  if (suitesLength % 2 !== 0) fail('an odd cipher suites length', r.at)
  r.need(suitesLength, 'the cipher suites')
  const cipherSuites: number[] = []
  for (let i = 0; i < suitesLength; i += 2) cipherSuites.push(b.readUInt16BE(r.at + i))
  r.at += suitesLength
  r.skip(r.u8('the compression methods length'), 'the compression methods')
  const ext = r.at < end ? extensions(r, end) : {}
  return {
    version,
    versions: ext.versions ?? [version],
    ...(ext.serverName !== undefined ? { serverName: ext.serverName } : {}),
    cipherSuites,
    signatureAlgorithms: ext.signatureAlgorithms ?? [],
    sslv2: false,
  }
}

/** An SSL 2.0-compatible CLIENT-HELLO: 3-byte cipher specs, the TLS ones those starting with 0. */
function sslv2Hello(r: Reader): ClientHello {
  r.at = 3
  const version = r.u16('the version')
  const specs = r.u16('the cipher-spec length')
  r.u16('the session-id length')
  r.u16('the challenge length')
  r.need(specs, 'the cipher specs')
  const cipherSuites: number[] = []
  for (let i = 0; i + 3 <= specs; i += 3)
    if (r.b[r.at + i] === 0) cipherSuites.push(r.b.readUInt16BE(r.at + i + 1))
  return { version, versions: [version], cipherSuites, signatureAlgorithms: [], sslv2: true }
}

/** What the extensions say: server_name (0), supported_versions (43), signature_algorithms (13). */
function extensions(
  r: Reader,
  end: number,
): { serverName?: string; versions?: number[]; signatureAlgorithms?: number[] } {
  const out: { serverName?: string; versions?: number[]; signatureAlgorithms?: number[] } = {}
  const extEnd = r.at + 2 + r.u16('the extensions length')
  if (extEnd > end) fail('extensions longer than the record', r.at)
  while (r.at + 4 <= extEnd) {
    const type = r.u16('an extension type')
    const len = r.u16('an extension length')
    r.need(len, 'an extension')
    const body = r.b.subarray(r.at, r.at + len)
    r.at += len
    if (type === 0 && body.length >= 5 && body[2] === 0) {
      const nameLength = body.readUInt16BE(3)
      if (5 + nameLength <= body.length) out.serverName = body.toString('latin1', 5, 5 + nameLength)
    } else if (type === 43 && body.length >= 1) out.versions = u16List(body, 1, 1 + body[0]!)
    else if (type === 13 && body.length >= 2)
      out.signatureAlgorithms = u16List(body, 2, 2 + body.readUInt16BE(0))
  }
  return out
}

/** The 16-bit values of a list from `from` up to `to`, cut at the body's end. */
function u16List(body: Buffer, from: number, to: number): number[] {
  const out: number[] = []
  for (let i = from; i + 1 < to && i + 1 < body.length; i += 2) out.push(body.readUInt16BE(i))
  return out
}
