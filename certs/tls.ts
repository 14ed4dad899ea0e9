import { createServer, type Server, type Socket } from 'node:net'
import { createSecureContext, TLSSocket, type SecureContext, type TLSSocketOptions } from 'node:tls'
import type { LabPki, ServerCertificate } from './pki.js'

/**
 * TLS for the lab's listeners. The certificate for a connection is chosen by the local address it arrived
 * on, then by SNI, then the multi-name fallback (LabPki.select): Windows CE-era clients may send no SNI,
 * and SNI alone cannot tell apart hosts that share one address.
 */
export interface LabTlsOptions {
  /**
   * CE-era clients (a CX700 runs Windows CE 6) speak TLS 1.0 with old ciphers, and the CX700 needs SHA-1
   * chains: allow TLS 1.0+ and OpenSSL security level 0 (packages.md: alert 70 otherwise).
   */
  readonly legacy?: boolean
}

/**
 * TLS settings for a lab listener. The lab's chains are SHA-1 by default (what the CX700 needs), which
 * OpenSSL 3 refuses to even load above security level 0 ("ca md too weak"): level 0 always. `legacy` then
 * only decides the protocols: TLS 1.0 and up for CE-era clients, or TLS 1.2 and up.
 */
export function tlsSettings(legacy: boolean): { minVersion: 'TLSv1' | 'TLSv1.2'; ciphers: string } {
  return { minVersion: legacy ? 'TLSv1' : 'TLSv1.2', ciphers: 'DEFAULT:@SECLEVEL=0' }
}

export class TlsContexts {
  readonly #pki: LabPki
  readonly #options: LabTlsOptions
  readonly #cache = new Map<ServerCertificate, SecureContext>()

  constructor(pki: LabPki, options: LabTlsOptions = {}) {
    this.#pki = pki
    this.#options = options
  }

  context(cert: ServerCertificate): SecureContext {
    let ctx = this.#cache.get(cert)
    if (!ctx) {
      ctx = createSecureContext({
        cert: cert.certPem,
        key: cert.keyPem,
        ...tlsSettings(this.#options.legacy === true),
      })
      this.#cache.set(cert, ctx)
    }
    return ctx
  }

  /**
   * What a server-side TLS socket needs for a connection that arrived on `localAddress`: the certificate of the
   * host at that address when one host has it, else the one SNI names, else `defaultName`'s (or the
   * multi-name fallback when none is given).
   */
  serverOptions(
    localAddress: string | undefined,
    defaultName?: string,
  ): Pick<TLSSocketOptions, 'secureContext' | 'SNICallback'> {
    const byAddress = this.#pki.select({ localAddress })
    const addressDecides = byAddress !== this.#pki.fallback
    const initial = this.context(
      addressDecides || defaultName === undefined ? byAddress : this.#pki.select({ servername: defaultName }),
    )
    return {
      secureContext: initial,
      SNICallback: (servername, cb) => {
        cb(null, addressDecides ? initial : this.context(this.#pki.select({ servername })))
      },
    }
  }

  /** Wraps an accepted TCP socket in a server-side TLS socket with the right certificate. */
  wrap(socket: Socket): TLSSocket {
    return new TLSSocket(socket, { isServer: true, ...this.serverOptions(socket.localAddress) })
  }
}

/**
 * A TLS listener on the lab PKI (for tests and for servers that speak TLS directly, such as SIP on 5061).
 * `onSecure` gets each socket once its handshake is done; handshake failures are given to `onTlsError`.
 */
export function labTlsServer(
  contexts: TlsContexts,
  onSecure: (socket: TLSSocket) => void,
  onTlsError: (err: Error, socket: TLSSocket) => void = () => undefined,
): Server {
  return createServer((raw) => {
    raw.on('error', () => raw.destroy())
    const tls = contexts.wrap(raw)
    tls.on('error', (err: Error) => {
      onTlsError(err, tls)
      tls.destroy()
    })
    tls.once('secure', () => onSecure(tls))
  })
}
