import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { RequestListener } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { TlsContexts, tlsSettings } from '../../certs/tls.js'
import { certificatePem, pkcs7Base64, pkcs7Der } from '../../certs/export.js'
import { ensureAuthority } from '../../certs/pki.js'
import { authenticate, type ConnectionAuth } from '../../lab/auth/http.js'
import { corruptBytes, garbageBytes } from '../../lab/faults/bytes.js'
import type { AppliedFault } from '../../lab/faults/engine.js'
import type { Peer } from '../../lab/journal/journal.js'
import { bindError } from '../../lab/net/udp.js'
import type { Host, Site, User } from '../../lab/scenario/model.js'
import { ServerBase } from '../../lab/server-base.js'
import type { BoundPort, LabDeps, ListenRequest } from '../../lab/server.js'
import type { HttpConfig } from './schema.js'

/** What the HTTP server gets of a scenario. */
export interface HttpSlice {
  readonly block: HttpConfig
  readonly site: Site
  readonly hosts: readonly Host[]
  readonly users: readonly User[]
}

interface RequestState {
  user?: string
  scheme?: string
  auth?: string
  fault?: AppliedFault
}

const state = new WeakMap<FastifyRequest, RequestState>()
const stateOf = (req: FastifyRequest): RequestState => {
  let s = state.get(req)
  if (!s) {
    s = {}
    state.set(req, s)
  }
  return s
}

const P7B = 'application/x-pkcs7-certificates'

/**
 * The HTTP double on port 80: AD CS web enrollment (/certsrv) for the phone's CA download (spec §2.5):
 * certnew.p7b (the chain as a certs-only PKCS#7, Enc=b64 or bin), certnew.cer (the CA certificate) and the
 * certcarc.asp page, behind IIS-style authentication. Every request is journaled with its user and status.
 */
export class HttpServer extends ServerBase<HttpSlice> {
  readonly name = 'http'
  #config: HttpSlice
  readonly #listen: readonly ListenRequest[]
  #apps: FastifyInstance[] = []
  readonly #connections = new WeakMap<Socket, ConnectionAuth>()
  #https: { server: HttpsServer; address: string }[] = []

  constructor(config: HttpSlice, listen: readonly ListenRequest[], deps: LabDeps) {
    super(deps)
    this.#config = config
    this.#listen = listen
  }

  configure(config: HttpSlice): void {
    this.#config = config
    // A reload may bring another PKI: the default certificate of each HTTPS listener follows it.
    for (const { server, address } of this.#https) {
      const cert = this.deps.pki().select({ localAddress: address })
      server.setSecureContext({
        cert: cert.certPem,
        key: cert.keyPem,
        ...tlsSettings(config.block.legacyTls),
      })
    }
  }

  /**
   * HTTPS with the lab PKI: the certificate of the host at the listen address (when one host has it), else
   * by SNI, else the multi-name fallback (LabPki.select); legacy TLS for CE-era clients by default.
   */
  #httpsFactory(address: string): (handler: RequestListener) => HttpsServer {
    return (handler) => {
      const contexts = new TlsContexts(this.deps.pki(), { legacy: this.#config.block.legacyTls })
      const initial = this.deps.pki().select({ localAddress: address })
      const server = createHttpsServer(
        {
          cert: initial.certPem,
          key: initial.keyPem,
          ...tlsSettings(this.#config.block.legacyTls),
          SNICallback: (servername, cb) => {
            const pki = this.deps.pki()
            const byAddress = pki.select({ localAddress: address })
            cb(null, contexts.context(byAddress !== pki.fallback ? byAddress : pki.select({ servername })))
          },
        },
        handler,
      )
      this.#https.push({ server, address })
      // A failed handshake (an old client, a wrong protocol) is journaled, never fatal.
      server.on('tlsClientError', (err, socket) => {
        this.deps.journal.record({
          server: 'http',
          kind: 'http:tls-failed',
          summary: `TLS handshake failed: ${err.message}`,
          detail: { error: err.message },
          peer: { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0, transport: 'tls' },
        })
      })
      return server
    }
  }

  protected async bind(): Promise<readonly BoundPort[]> {
    const bound: BoundPort[] = []
    for (const req of this.#listen) {
      const app = req.name === 'https' ? this.#app(this.#httpsFactory(req.address)) : this.#app()
      this.#apps.push(app)
      try {
        await app.listen({ host: req.address, port: req.port })
      } catch (cause) {
        throw bindError('http', 'tcp', req.address, req.port, cause)
      }
      const addr = app.server.address()
      bound.push({ ...req, server: 'http', port: typeof addr === 'object' && addr ? addr.port : req.port })
    }
    return bound
  }

  protected async unbind(): Promise<void> {
    const apps = this.#apps
    this.#apps = []
    this.#https = []
    await Promise.all(apps.map((a) => a.close()))
  }

  #app(serverFactory?: (handler: RequestListener) => HttpsServer): FastifyInstance {
    const app = Fastify({
      logger: false,
      forceCloseConnections: true,
      bodyLimit: 64 * 1024,
      ...(serverFactory ? { serverFactory } : {}),
    }) as unknown as FastifyInstance
    app.addHook('onRequest', async (req, reply) => this.#onRequest(req, reply))
    app.addHook('onSend', async (req, _reply, payload) => this.#onSend(req, payload))
    app.addHook('onResponse', async (req, reply) => this.#journal(req, reply.statusCode))
    app.get('/certsrv/certnew.p7b', async (req, reply) => this.#certnew(req, reply, 'p7b'))
    app.get('/certsrv/certnew.cer', async (req, reply) => this.#certnew(req, reply, 'cer'))
    app.get('/certsrv/certcarc.asp', async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(
          '<html><head><title>Microsoft Active Directory Certificate Services</title></head><body>' +
            '<h3>Download a CA certificate, certificate chain, or CRL</h3>' +
            '<a href="certnew.cer?ReqID=CACert&amp;Renewal=-1&amp;Enc=b64">Download CA certificate</a><br>' +
            '<a href="certnew.p7b?ReqID=CACert&amp;Renewal=-1&amp;Enc=b64">Download CA certificate chain</a>' +
            '</body></html>',
        ),
    )
    app.setNotFoundHandler(async (_req, reply) =>
      reply
        .code(404)
        .type('text/html')
        .send('<html><body><h1>404 - File or directory not found.</h1></body></html>'),
    )
    app.setErrorHandler(async (err: { statusCode?: number; message: string }, _req, reply) =>
      reply.code(err.statusCode && err.statusCode < 500 ? err.statusCode : 500).send({ error: err.message }),
    )
    return app
  }

  #peer(req: FastifyRequest): Peer {
    return { address: req.socket.remoteAddress ?? '?', port: req.socket.remotePort ?? 0, transport: 'tcp' }
  }

  async #onRequest(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const s = stateOf(req)
    const path = req.url.split('?')[0]!
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
    const faults = this.deps.faults
    const applied = faults.idle
      ? undefined
      : faults.decide({ server: 'http', peer: this.#peer(req), fields: { method: req.method, path, host } })
    if (applied) s.fault = applied
    const f = applied?.fault
    if (f?.kind === 'delay')
      await sleep(f.ms + (f.jitterMs ? Math.floor(this.deps.random() * f.jitterMs) : 0))
    if (f?.kind === 'drop') {
      this.#journal(req, 0)
      return reply.hijack() // never answered; the socket is closed when the lab stops
    }
    if (f?.kind === 'reset') {
      this.#journal(req, 0)
      reply.hijack()
      req.socket.resetAndDestroy()
      return reply
    }
    if (f?.kind === 'garbage') {
      this.#journal(req, 0)
      reply.hijack()
      req.socket.end(Buffer.from(garbageBytes(f.bytes ?? 64, this.deps.random)))
      return reply
    }
    if (f?.kind === 'error')
      return reply.code(Number(f.code)).type('text/html').send(`<html><body><h1>${f.code}</h1></body></html>`)
    if (path.startsWith('/certsrv') && this.#config.block.certsrv.authentication) {
      let conn = this.#connections.get(req.socket)
      if (!conn) {
        conn = {}
        this.#connections.set(req.socket, conn)
      }
      const dc = this.#config.hosts.find((h) => h.roles.includes('ca'))
      const outcome = authenticate(req.headers.authorization, conn, {
        users: this.#config.users,
        domain: this.#config.site.netbiosName,
        host: dc?.name ?? this.#config.site.adDomain,
        kerberos: this.#config.block.certsrv.kerberos,
      })
      s.auth = outcome.detail
      if (outcome.status === 'challenge') {
        return reply
          .code(401)
          .header('www-authenticate', [...outcome.headers])
          .type('text/html')
          .send(
            '<html><body><h1>401 - Unauthorized: Access is denied due to invalid credentials.</h1></body></html>',
          )
      }
      s.user = outcome.user
      s.scheme = outcome.scheme
    }
    return undefined
  }

  async #onSend(req: FastifyRequest, payload: unknown): Promise<unknown> {
    const f = state.get(req)?.fault?.fault
    if (f === undefined || (f.kind !== 'corrupt' && f.kind !== 'truncate')) return payload
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : '')
    return f.kind === 'corrupt'
      ? Buffer.from(corruptBytes(bytes, f.bytes ?? 1, this.deps.random))
      : bytes.subarray(0, f.bytes)
  }

  async #certnew(req: FastifyRequest, reply: FastifyReply, what: 'p7b' | 'cer'): Promise<FastifyReply> {
    const { certsrv } = this.#config.block
    if (!certsrv.enabled) {
      reply.callNotFound()
      return reply
    }
    const q = req.query as Record<string, string | undefined>
    if ((q.ReqID ?? '').toLowerCase() !== 'cacert')
      return reply
        .code(400)
        .type('text/html')
        .send('<html><body>ReqID=CACert is the only request the lab serves.</body></html>')
    const set = state.get(req)?.fault?.fault
    const answer = set?.kind === 'answer' ? set.set : {}
    const enc = typeof answer.encoding === 'string' ? answer.encoding : (q.Enc ?? 'bin').toLowerCase()
    const pki = this.deps.pki()
    // A chain from the wrong CA: the lab's "untrusted" CA, published nowhere.
    const chain =
      answer.chain === 'untrusted'
        ? [
            (await ensureAuthority(pki.stateDir, 'untrusted', 'sha1', 2048, this.deps.clock.now()))
              .certificate,
          ]
        : pki.chain
    const eol = certsrv.lineEnding === 'crlf' ? '\r\n' : '\n'
    let body: Buffer
    if (what === 'p7b') {
      body =
        enc === 'b64'
          ? Buffer.from(pkcs7Base64(chain, { armor: certsrv.armor, eol }))
          : Buffer.from(pkcs7Der(chain))
      reply.type(P7B)
    } else {
      const ca = chain[chain.length - 1]!
      body = enc === 'b64' ? Buffer.from(certificatePem(ca).replace(/\n/g, eol)) : Buffer.from(ca.rawData)
      reply.type('application/pkix-cert')
    }
    if (typeof answer.dribbleMs === 'number') {
      const ms = answer.dribbleMs
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        'content-type': reply.getHeader('content-type') as string,
        'content-length': body.length,
      })
      for (let i = 0; i < body.length && !res.destroyed; i += 16) {
        res.write(body.subarray(i, i + 16))
        await sleep(ms)
      }
      res.end()
      this.#journal(req, 200)
      return reply
    }
    return reply.send(body)
  }

  #journal(req: FastifyRequest, status: number): void {
    const s = state.get(req) ?? {}
    const host = (req.headers.host ?? '').replace(/:\d+$/, '')
    const answered = status === 0 ? `no answer (fault ${s.fault?.fault.kind ?? ''})` : String(status)
    this.deps.journal.record({
      server: 'http',
      kind: 'http:request',
      summary: `${req.method} ${req.url} (${host || '-'}) → ${answered}${s.user ? ` as ${s.user}` : ''}${s.auth && status === 401 ? `: ${s.auth}` : ''}`,
      detail: {
        method: req.method,
        url: req.url,
        host,
        status,
        ...(s.user ? { user: s.user, scheme: s.scheme } : {}),
        ...(s.auth ? { auth: s.auth } : {}),
        ...(s.fault ? { fault: s.fault.fault.kind } : {}),
      },
      peer: this.#peer(req),
      ...(s.user && !s.user.startsWith('(') ? { device: { user: s.user } } : {}),
    })
  }
}
