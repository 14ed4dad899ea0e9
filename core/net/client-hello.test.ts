import { createServer } from 'node:net'
import { connect } from 'node:tls'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../errors.js'
import { clientHelloLength, decodeClientHello, usesSha1, versionName } from './client-hello.js'

/** The first record a real TLS client (Node's OpenSSL) sends, captured on a plain TCP server. */
async function captureHello(options: {
  servername?: string
  maxVersion?: 'TLSv1' | 'TLSv1.2'
}): Promise<Buffer> {
  let got: Buffer = Buffer.alloc(0)
  const server = createServer((s) => {
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      const need = clientHelloLength(got)
      if (need !== undefined && need > 0 && got.length >= need) s.destroy()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  const c = connect({
    host: '127.0.0.1',
    port,
    ...(options.servername ? { servername: options.servername } : {}),
    ...(options.maxVersion
      ? { maxVersion: options.maxVersion, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }
      : {}),
  })
  await new Promise((r) => c.once('close', r).once('error', r))
  await new Promise((r) => server.close(r))
  return got
}

describe('TLS ClientHello', () => {
  it('reads SNI, versions, cipher suites and signature algorithms from a real TLS 1.3 client', async () => {
    const h = decodeClientHello(await captureHello({ servername: 'ocspool.contoso.test' }))
    expect(h.serverName).toBe('ocspool.contoso.test')
    expect(h.versions.map(versionName)).toContain('TLSv1.3')
    expect(h.cipherSuites).toContain(0x1301) // TLS_AES_128_GCM_SHA256
    expect(h.signatureAlgorithms).toContain(0x0804) // rsa_pss_rsae_sha256
    expect(h.signatureAlgorithms.every(usesSha1)).toBe(false)
  })

  it('reads a TLS 1.0-only hello without SNI (as a CE-era client sends)', async () => {
    const h = decodeClientHello(await captureHello({ maxVersion: 'TLSv1' }))
    expect(h.serverName).toBeUndefined()
    expect(versionName(h.version)).toBe('TLSv1')
    expect(h.versions.map(versionName)).toEqual(['TLSv1'])
  })

  it('refuses what is not a ClientHello, and never throws anything else (fuzz)', async () => {
    expect(() => decodeClientHello(Buffer.from('REGISTER sip:x SIP/2.0\r\n'))).toThrow(LabDecodeError)
    const real = await captureHello({ servername: 'a.test' })
    const mutated = fc
      .tuple(fc.nat({ max: real.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 8 }))
      .map(([at, bytes]) =>
        Buffer.concat([real.subarray(0, at), Buffer.from(bytes), real.subarray(at + bytes.length)]),
      )
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
          mutated,
          fc.nat({ max: real.length }).map((n) => real.subarray(0, n)),
        ),
        (b) => {
          try {
            decodeClientHello(b)
          } catch (err) {
            if (!(err instanceof LabDecodeError)) throw err
          }
        },
      ),
      { numRuns: 5000, seed: 5 },
    )
  })
})
