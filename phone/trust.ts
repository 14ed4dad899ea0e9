import type { PhoneNet } from './net.js'
import 'reflect-metadata'
import { connect, type TLSSocket } from 'node:tls'
import * as x509 from '@peculiar/x509'
import { signatureHash } from '../certs/export.js'

/**
 * Certificate checks as the CX700 (Windows CE 6) makes them (spec §2.5, §2.7): the chain must end at a root
 * the phone installed from AD or /certsrv; every signature must be SHA-1 (or MD5) — a SHA-2 signature
 * cannot be verified ("SHA2 is not supported", F10/F11); validity is judged by the phone's own clock (set
 * by NTP, so a skewed clock shows here); the name asked for must be in the certificate.
 */

export type TrustFailure = 'sha2-root' | 'sha2' | 'untrusted' | 'expired' | 'not-yet-valid' | 'wrong-host'
export type TrustResult =
  { readonly ok: true } | { readonly ok: false; readonly failure: TrustFailure; readonly reason: string }

const SHA2 = new Set(['SHA-256', 'SHA-384', 'SHA-512'])

function names(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension)
  const out = (san?.names.items ?? []).map((n) => n.value.toLowerCase())
  const cn = /CN=([^,]+)/.exec(cert.subject)?.[1]
  return out.length > 0 ? out : cn ? [cn.toLowerCase()] : []
}

function nameMatches(host: string, cert: x509.X509Certificate): boolean {
  const h = host.toLowerCase()
  return names(cert).some(
    (n) =>
      n === h || (n.startsWith('*.') && h.endsWith(n.slice(1)) && !h.slice(0, -n.length + 1).includes('.')),
  )
}

/**
 * Which installed certificates anchor a chain (spec §2.5 installs every `cACertificate` value it finds, the
 * issuing CAs of AIA and NTAuthCertificates too): `self-signed` — only the roots among them, the others help
 * build chains, as CryptoAPI's chain engine treats a non-self-signed certificate in the root store (GUESS,
 * the default); `installed` — every one of them.
 */
export type Anchors = 'self-signed' | 'installed'

const selfSigned = (c: x509.X509Certificate): boolean => c.subject === c.issuer

/** Checks a presented chain (leaf first) against the phone's installed certificates, clock and host. */
export async function checkChain(
  presented: readonly x509.X509Certificate[],
  installed: readonly x509.X509Certificate[],
  host: string,
  now: Date,
  anchors: Anchors = 'self-signed',
): Promise<TrustResult> {
  const leaf = presented[0]
  if (!leaf) return { ok: false, failure: 'untrusted', reason: 'no certificate presented' }
  const roots = anchors === 'installed' ? installed : installed.filter(selfSigned)
  const pool = [...presented, ...installed]
  const isRoot = (c: x509.X509Certificate): x509.X509Certificate | undefined =>
    roots.find(
      (r) =>
        r.subject === c.subject && Buffer.from(r.publicKey.rawData).equals(Buffer.from(c.publicKey.rawData)),
    )
  // The anchor first: a SHA-2 root was "installed" but can never be used (F10: the phone loops).
  let anchor: x509.X509Certificate | undefined = leaf
  for (let depth = 0; anchor && depth < 6 && !isRoot(anchor); depth++) {
    const current: x509.X509Certificate = anchor
    anchor = pool.find((c) => c.subject === current.issuer && c !== current)
  }
  const root = anchor ? isRoot(anchor) : undefined
  if (root && SHA2.has(signatureHash(root)))
    return {
      ok: false,
      failure: 'sha2-root',
      reason: `the root ${root.subject} is signed with ${signatureHash(root)}`,
    }
  let cert = leaf
  for (let depth = 0; depth < 6; depth++) {
    if (now < cert.notBefore)
      return {
        ok: false,
        failure: 'not-yet-valid',
        reason: `${cert.subject} is not valid before ${cert.notBefore.toISOString()}`,
      }
    if (now > cert.notAfter)
      return {
        ok: false,
        failure: 'expired',
        reason: `${cert.subject} expired ${cert.notAfter.toISOString()}`,
      }
    if (isRoot(cert)) {
      return nameMatches(host, leaf)
        ? { ok: true }
        : { ok: false, failure: 'wrong-host', reason: `${host} is not among ${names(leaf).join(', ')}` }
    }
    if (SHA2.has(signatureHash(cert)))
      return {
        ok: false,
        failure: 'sha2',
        reason: `${cert.subject} is signed with ${signatureHash(cert)}: SHA2 is not supported`,
      }
    const issuer = pool.find((c) => c.subject === cert.issuer && c !== cert)
    if (!issuer) return { ok: false, failure: 'untrusted', reason: `no installed root for ${cert.issuer}` }
    if (!(await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true })))
      return { ok: false, failure: 'untrusted', reason: `${cert.subject}: the signature does not verify` }
    cert = issuer
  }
  return { ok: false, failure: 'untrusted', reason: 'the chain is too long' }
}

/**
 * A TLS connection as the phone makes it: TLS 1.0 offered, old ciphers, no SNI (a CE-era client), the
 * chain checked by `checkChain` rather than by Node's store.
 */
export async function phoneTls(
  host: string,
  port: number,
  name: string,
  roots: readonly x509.X509Certificate[],
  now: Date,
  options: {
    readonly sni: boolean
    readonly timeoutMs: number
    readonly maxVersion: 'TLSv1' | 'TLSv1.2'
    /** Which installed certificates anchor a chain (`Anchors`). */
    readonly anchors?: Anchors
    /** The phone's network (its own address on loopback). */
    readonly net?: PhoneNet
  },
): Promise<{ socket: TLSSocket } | { failure: TrustFailure | 'unreachable'; reason: string }> {
  const socket = (options.net ? options.net.tls.bind(options.net) : connect)({
    host,
    port,
    ...(options.sni ? { servername: name } : {}),
    minVersion: 'TLSv1',
    maxVersion: options.maxVersion,
    ciphers: 'DEFAULT:@SECLEVEL=0',
    rejectUnauthorized: false,
  })
  const up = await new Promise<true | string>((resolve) => {
    const timer = setTimeout(() => resolve('timed out'), options.timeoutMs)
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      resolve(true)
    })
    socket.once('error', (err: Error) => {
      clearTimeout(timer)
      resolve(err.message)
    })
  })
  if (up !== true) {
    socket.destroy()
    return { failure: 'unreachable', reason: up }
  }
  const chain: x509.X509Certificate[] = []
  let peer = socket.getPeerCertificate(true)
  const seen = new Set<string>()
  while (peer?.raw && !seen.has(peer.fingerprint256)) {
    seen.add(peer.fingerprint256)
    chain.push(new x509.X509Certificate(peer.raw))
    peer = peer.issuerCertificate
  }
  const verdict = await checkChain(chain, roots, name, now, options.anchors)
  if (!verdict.ok) {
    socket.destroy()
    return { failure: verdict.failure, reason: verdict.reason }
  }
  return { socket }
}
