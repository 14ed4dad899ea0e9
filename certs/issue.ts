import 'reflect-metadata'
import { generateKeyPair, randomBytes, webcrypto, type KeyObject } from 'node:crypto'
import * as x509 from '@peculiar/x509'
import type { PkiHash } from './schema.js'

x509.cryptoProvider.set(webcrypto)

/**
 * Keys and certificates, built with Node's native RSA key generation (in the libuv thread pool, so a
 * running lab's event loop never blocks on it) and @peculiar/x509 (ADR 0005). Pure apart from the key
 * generation's randomness: every date comes from the caller.
 */

const WEBCRYPTO_HASH: Record<PkiHash, string> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384' }
const DAY = 86_400_000

/** An RSA key pair as PKCS#8 / SPKI DER, the form it is stored in. */
export interface KeyPairDer {
  readonly privateKey: Uint8Array
  readonly publicKey: Uint8Array
}

/** Generates an RSA key off the event loop. */
export function generateRsaKey(bits: number): Promise<KeyPairDer> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      { modulusLength: bits, publicExponent: 0x10001 },
      (err, publicKey: KeyObject, privateKey: KeyObject) => {
        if (err) reject(err)
        else
          resolve({
            privateKey: new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' })),
            publicKey: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })),
          })
      },
    )
  })
}

function algorithm(hash: PkiHash): webcrypto.RsaHashedImportParams {
  return { name: 'RSASSA-PKCS1-v1_5', hash: WEBCRYPTO_HASH[hash] }
}

async function importPair(key: KeyPairDer, hash: PkiHash): Promise<webcrypto.CryptoKeyPair> {
  const subtle = webcrypto.subtle
  return {
    privateKey: await subtle.importKey('pkcs8', key.privateKey, algorithm(hash), true, ['sign']),
    publicKey: await subtle.importKey('spki', key.publicKey, algorithm(hash), true, ['verify']),
  }
}

function serial(): string {
  const b = randomBytes(16)
  b[0] = b[0]! & 0x7f // positive
  return b.toString('hex')
}

/** A CA: its certificate and key. */
export interface Authority {
  readonly certificate: x509.X509Certificate
  readonly key: KeyPairDer
}

export interface CaRequest {
  readonly name: string
  readonly hash: PkiHash
  readonly key: KeyPairDer
  readonly notBefore: Date
  readonly notAfter: Date
  /** Self-signed when absent. */
  readonly issuer?: Authority
}

/** A CA certificate: basicConstraints CA, keyCertSign + cRLSign, subject and authority key identifiers. */
export async function createCa(req: CaRequest): Promise<x509.X509Certificate> {
  const own = await importPair(req.key, req.hash)
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, req.issuer ? 0 : undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(own.publicKey),
  ]
  if (!req.issuer) {
    return x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: req.name,
      notBefore: req.notBefore,
      notAfter: req.notAfter,
      signingAlgorithm: algorithm(req.hash),
      keys: own,
      extensions,
    })
  }
  return signBy(req.issuer, {
    subject: req.name,
    hash: req.hash,
    own,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    extensions,
  })
}

/** A certificate `issuer` signs for the key `own`: the extensions given plus the authority key identifier. */
async function signBy(
  issuer: Authority,
  c: {
    subject: string
    hash: PkiHash
    own: webcrypto.CryptoKeyPair
    notBefore: Date
    notAfter: Date
    extensions: x509.Extension[]
  },
): Promise<x509.X509Certificate> {
  const issuerKeys = await importPair(issuer.key, c.hash)
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: c.subject,
    issuer: issuer.certificate.subject,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    signingAlgorithm: algorithm(c.hash),
    publicKey: c.own.publicKey,
    signingKey: issuerKeys.privateKey,
    extensions: [...c.extensions, await x509.AuthorityKeyIdentifierExtension.create(issuerKeys.publicKey)],
  })
}

export interface LeafRequest {
  readonly commonName: string
  readonly dnsNames: readonly string[]
  readonly ipAddresses: readonly string[]
  readonly hash: PkiHash
  readonly key: KeyPairDer
  readonly notBefore: Date
  readonly notAfter: Date
  readonly serverAuth: boolean
  readonly issuer: Authority
}

/** A TLS server certificate: SANs, digitalSignature + keyEncipherment, EKU serverAuth (or clientAuth only). */
export async function createLeaf(req: LeafRequest): Promise<x509.X509Certificate> {
  const own = await importPair(req.key, req.hash)
  return signBy(req.issuer, {
    subject: `CN=${req.commonName}`,
    hash: req.hash,
    own,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(
        req.serverAuth
          ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]
          : [x509.ExtendedKeyUsage.clientAuth],
      ),
      new x509.SubjectAlternativeNameExtension([
        ...req.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...req.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(own.publicKey),
    ],
  })
}

/** The dates a validity profile means, relative to `now` (the lab clock). */
export function validityDates(validity: string, now: number): { notBefore: Date; notAfter: Date } {
  switch (validity) {
    case 'expired':
      return { notBefore: new Date(now - 730 * DAY), notAfter: new Date(now - DAY) }
    case 'not-yet-valid':
      return { notBefore: new Date(now + 30 * DAY), notAfter: new Date(now + 760 * DAY) }
    default:
      return { notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY) }
  }
}

export { x509 }
