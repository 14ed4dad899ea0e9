import { x509 } from './issue.js'

/**
 * What the other servers need of the lab PKI, in the forms clients in the field expect: DER for LDAP's
 * cACertificate, PEM with a trailing newline for Node TLS (packages.md: @peculiar/x509 writes none, and a
 * concatenated chain then fails with "bad end line"), and a certs-only PKCS#7 bundle for /certsrv.
 */

/** `-----BEGIN <label>-----`, base64 in 64-character lines, `-----END <label>-----`, each line ending in `eol`. */
export function pem(der: Uint8Array, label: string, eol: '\n' | '\r\n' = '\n'): string {
  const b64 = Buffer.from(der).toString('base64')
  const lines = b64.match(/.{1,64}/g) ?? []
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`, ''].join(eol)
}

export function certificatePem(cert: x509.X509Certificate): string {
  return pem(new Uint8Array(cert.rawData), 'CERTIFICATE')
}

export function certificateDer(cert: x509.X509Certificate): Uint8Array {
  return new Uint8Array(cert.rawData)
}

/** A degenerate SignedData (certificates only, no signers), DER: what AD CS's certnew.p7b holds. */
export function pkcs7Der(certs: readonly x509.X509Certificate[]): Uint8Array {
  return new Uint8Array(new x509.X509Certificates([...certs]).export('raw'))
}

/**
 * The armor around a base64 PKCS#7: `pkcs7` is `BEGIN PKCS7` (what OpenSSL reads); `certificate` is
 * `BEGIN CERTIFICATE` around the PKCS#7 (reported of AD CS, spec §2.5 GUESS); `none` is bare base64 lines.
 */
export type Pkcs7Armor = 'pkcs7' | 'certificate' | 'none'

export function pkcs7Base64(
  certs: readonly x509.X509Certificate[],
  options: { armor: Pkcs7Armor; eol: '\n' | '\r\n' },
): string {
  const der = pkcs7Der(certs)
  if (options.armor === 'none')
    return (
      (
        Buffer.from(der)
          .toString('base64')
          .match(/.{1,64}/g) ?? []
      ).join(options.eol) + options.eol
    )
  return pem(der, options.armor === 'pkcs7' ? 'PKCS7' : 'CERTIFICATE', options.eol)
}

/** SHA-1 thumbprint, as Windows shows it (upper-case hex). */
export async function thumbprint(cert: x509.X509Certificate): Promise<string> {
  return Buffer.from(await cert.getThumbprint('SHA-1'))
    .toString('hex')
    .toUpperCase()
}

/** The hash of a certificate's signature as WebCrypto names it (`SHA-1`, `SHA-256`, …). */
export function signatureHash(cert: x509.X509Certificate): string {
  const alg = cert.signatureAlgorithm as unknown as { hash?: { name?: unknown } }
  return typeof alg.hash?.name === 'string' ? alg.hash.name : 'unknown'
}
