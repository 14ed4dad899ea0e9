import { DeviceConfigs } from '../../core/device-configs.js'
import type { Server as NetServer, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { RequestListener } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { CLIENT_RENEG_LIMIT, CLIENT_RENEG_WINDOW } from 'node:tls'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { LabPki } from '../../certs/pki.js'
import { TlsContexts, tlsSettings } from '../../certs/tls.js'
import { authenticate, type ConnectionAuth } from '../../core/auth/http.js'
import { ReplayCache } from '../../core/auth/krb5/acceptor.js'
import { LabDecodeError } from '../../core/errors.js'
import { waitFor } from '../../core/faults/apply.js'
import type { EventWrite } from '../../core/journal/events.js'
import type { Peer } from '../../core/journal/journal.js'
import type { HttpEvents, HttpRequestDetail } from './events.js'
import { SocketDuplex, isRenegotiationRefused, secureOver } from '../../core/net/socket-duplex.js'
import { bindError } from '../../core/net/udp.js'
import type { User } from '../../core/site.js'
import { ServerBase } from '../../core/server-base.js'
import type { BoundPort, ListenRequest } from '../../core/server.js'
import type { ServerDeps } from '../contract.js'
import { certsrvRoutes } from './certsrv.js'
import { parseXml, soapRequest } from '../../core/xml.js'
import { stateOf, type HttpContext, type HttpSlice } from './context.js'
import { dusRoutes } from './dus-routes.js'
import { absRoutes } from './abs-routes.js'
import { exchangeRoutes } from './exchange.js'
import { areaOf, hostServes } from './routing.js'
import type { HttpRuntime } from './runtime.js'

export type { HttpSlice } from './context.js'

/** How long a TLS handshake may take (tls.Server's default handshakeTimeout). */
const HANDSHAKE_MS = 120_000

const hostOf = (req: FastifyRequest): string => (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()

/**
 * The HTTP doubles on ports 80 and 443: AD CS web enrollment (/certsrv, spec §2.5), Exchange Autodiscover
 * (§3) and EWS (§4), routed by path and Host as IIS sites are, behind IIS-style authentication. Faults are
 * decided once a request is authenticated and its body read (so they can match the user and the operation);
 * every request is journaled with its user, operation, folder and status.
 */
export class HttpServer extends ServerBase<HttpSlice, ServerDeps, HttpEvents> {
  readonly name = 'http'
  #config: HttpSlice
  readonly #listen: readonly ListenRequest[]
  #apps: FastifyInstance[] = []
  readonly #connections = new WeakMap<Socket, ConnectionAuth>()
  /** Kerberos authenticators this IIS has seen (RFC 4120 §3.2.3): a replayed one is refused. */
  readonly #replay = new ReplayCache()
  #https: { server: HttpsServer; address: string }[] = []

  readonly #runtime: HttpRuntime
  readonly #devices = new DeviceConfigs<HttpSlice>((address) =>
    this.deps.journal.devices.resolve(undefined, address),
  )
  #httpsPort = 443
  #httpPort = 80
  readonly #context: HttpContext

  constructor(config: HttpSlice, listen: readonly ListenRequest[], deps: ServerDeps, runtime: HttpRuntime) {
    super(deps)
    this.#config = config
    this.#listen = listen
    this.#runtime = runtime
    this.#context = {
      deps,
      config: (req) => this.#configOf(req),
      httpsPort: () => this.#httpsPort,
      httpPort: () => this.#httpPort,
      mailbox: (user: User) => this.#runtime.mailbox(user, this.deps.clock.now()),
      addressBook: this.#runtime.addressBook,
      journal: (req, status) => this.#journal(req, status),
      notFound: (reply) => notFound(reply),
    }
    this.#followDirectory(config)
  }

  /** The Address Book Server follows the directory's users (its daily pass reads them). */
  #followDirectory(config: HttpSlice): void {
    if (config.block.abs.enabled)
      this.#runtime.addressBook.follow(config.users, config.block.abs.runTime, this.deps.clock)
  }

  /** Gives one device a configuration of its own (a trainee's exercise), or takes it back. */
  configureDevice(mac: string, config: HttpSlice | undefined): void {
    this.#devices.set(mac, config)
  }

  #configOf(req: FastifyRequest): HttpSlice {
    return this.#devices.for(req.socket.remoteAddress ?? '', this.#config)
  }

  configure(config: HttpSlice): void {
    this.#config = config
    this.#followDirectory(config)
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
      this.#watchRenegotiation(server)
      // A failed handshake (an old client, a wrong protocol) is journaled, never fatal.
      server.on('tlsClientError', (err, socket) => {
        this.record('http:tls-failed', {
          summary: `TLS handshake failed: ${err.message}`,
          detail: { error: err.message },
          peer: { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0, transport: 'tls' },
        })
      })
      return server
    }
  }

  /** Journals a client that renegotiated once too often (Node closes its connection; fastify answers nothing). */
  #watchRenegotiation(server: HttpsServer): void {
    server.on('clientError', (err, socket) => {
      if (!isRenegotiationRefused(err)) return
      const [limit, windowS] = [CLIENT_RENEG_LIMIT, CLIENT_RENEG_WINDOW]
      const s = socket as Partial<Pick<Socket, 'remoteAddress' | 'remotePort'>>
      this.record('http:tls-renegotiation-refused', {
        summary: `TLS renegotiation refused (more than ${limit} in ${windowS} s): connection closed`,
        detail: { limit, windowS },
        peer: { address: s.remoteAddress ?? '?', port: s.remotePort ?? 0, transport: 'tls' },
      })
    })
  }

  #contexts: { pki: LabPki; legacy: boolean; contexts: TlsContexts } | undefined

  /** TLS contexts for the PKI in force (built again when a reload brings another PKI or TLS setting). */
  #tlsContexts(): TlsContexts {
    const pki = this.deps.pki()
    const legacy = this.#config.block.legacyTls
    if (this.#contexts?.pki !== pki || this.#contexts.legacy !== legacy)
      this.#contexts = { pki, legacy, contexts: new TlsContexts(pki, { legacy }) }
    return this.#contexts.contexts
  }

  /**
   * While captures are on, connections are read through JS so that their octets can be captured (http and
   * native TLS read the socket's handle directly): HTTP over a SocketDuplex, HTTPS over a TLS socket made
   * here as the TLS server would make it (its certificate choice, key log, handshake errors and timeout).
   * With captures off, the server accepts natively.
   */
  #acceptCaptured(server: NetServer, tlsAddress: string | undefined): void {
    const native = server.listeners('connection') as ((socket: Duplex) => void)[]
    server.removeAllListeners('connection')
    server.on('connection', (raw: Socket) => {
      if (!this.deps.capture.wants(raw.remoteAddress ?? '')) {
        for (const l of native) l.call(server, raw)
        return
      }
      const tap = this.captureConnection(raw)
      if (tlsAddress === undefined) {
        const duplex = new SocketDuplex(raw)
        this.tapFor(duplex, raw)
        for (const l of native) l.call(server, duplex)
        return
      }
      const secure = secureOver(raw, undefined, this.#tlsContexts().serverOptions(tlsAddress))
      this.tapFor(secure, raw)
      secure.on('keylog', (line: Buffer) => tap.keylog(line.toString('latin1')))
      const timer = setTimeout(() => secure.destroy(new Error('TLS handshake timeout')), HANDSHAKE_MS)
      timer.unref()
      const failed = (err: Error): void => {
        clearTimeout(timer)
        server.emit('tlsClientError', err, secure)
        secure.destroy()
      }
      secure.on('error', failed)
      secure.once('close', () => clearTimeout(timer))
      secure.once('secure', () => {
        clearTimeout(timer)
        secure.off('error', failed)
        server.emit('secureConnection', secure)
      })
    })
  }

  protected async bind(): Promise<readonly BoundPort[]> {
    const bound: BoundPort[] = []
    for (const req of this.#listen) {
      const app = req.name === 'https' ? this.#app(this.#httpsFactory(req.address)) : this.#app()
      this.#acceptCaptured(app.server, req.name === 'https' ? req.address : undefined)
      this.#apps.push(app)
      try {
        await app.listen({ host: req.address, port: req.port })
      } catch (cause) {
        throw bindError('http', 'tcp', req.address, req.port, cause)
      }
      const addr = app.server.address()
      const port = typeof addr === 'object' && addr ? addr.port : req.port
      if (req.name === 'https') this.#httpsPort = port
      else this.#httpPort = port
      bound.push({ ...req, server: 'http', port })
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
      // IIS matches paths without regard to case (Outlook posts to /Autodiscover/Autodiscover.xml).
      routerOptions: { caseSensitive: false },
      ...(serverFactory ? { serverFactory } : {}),
    }) as unknown as FastifyInstance
    // SOAP and POX bodies are read as text and parsed by the codec (validation on); any other type too, so
    // that a client sending a wrong Content-Type gets the protocol's own error rather than 415.
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body))
    app.addHook('onRequest', async (req, reply) => this.#onRequest(req, reply))
    app.addHook('preHandler', async (req, reply) => this.#faults(req, reply))
    // Journaled as the answer goes out, its octets written once the event is in the file (with the others
    // of the same turn, one write): an answer a client saw is in the journal.
    app.addHook('onSend', async (req, reply, payload) => {
      const out = await this.#onSend(req, payload)
      await new Promise<void>((resolve) =>
        this.recordThen('http:request', this.#event(req, reply.statusCode), resolve),
      )
      return out
    })
    certsrvRoutes(app, this.#context)
    exchangeRoutes(app, this.#context)
    dusRoutes(app, this.#context)
    absRoutes(app, this.#context)
    app.setNotFoundHandler(async (_req, reply) => notFound(reply))
    app.setErrorHandler(async (err: { statusCode?: number; message: string }, req, reply) => {
      const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500
      // A client's mistake (a body too large, bad framing) is its answer; anything else is a bug of ours.
      if (status === 500)
        this.record('http:failed', {
          summary: `${req.method} ${req.url}: internal error: ${err.message}`,
          detail: { method: req.method, url: req.url, error: err.message },
          peer: this.#peer(req),
        })
      return reply.code(status).type('text/html').send(`<html><body><h1>${status}</h1></body></html>`)
    })
    return app
  }

  /**
   * Credentials that cross in clear (Basic, or a token of no scheme the lab knows) are concealed in the
   * connection's capture: masked in plain HTTP, and the TLS secrets withheld so Wireshark cannot decrypt them.
   */
  #concealCredentials(req: FastifyRequest): void {
    const header = req.headers.authorization
    if (header === undefined || /^\s*(ntlm|negotiate)\s/i.test(header)) return
    const token = header.trim().split(/\s+/).at(-1) ?? ''
    this.tapOf(req.socket)?.conceal(Buffer.from(token, 'latin1'))
  }

  #peer(req: FastifyRequest): Peer {
    return { address: req.socket.remoteAddress ?? '?', port: req.socket.remotePort ?? 0, transport: 'tcp' }
  }

  /** Routing by Host, Exchange's SSL requirement and the HTTP redirect, then authentication. */
  async #onRequest(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const s = stateOf(req)
    const config = this.#configOf(req)
    const block = config.block
    const area = areaOf(req.url.split('?')[0]!)
    if (!area) return undefined
    s.area = area
    if (!hostServes(area, hostOf(req), config)) return notFound(reply)
    const https = req.protocol === 'https'
    if (area === 'autodiscover' && block.autodiscover.soap && https) reply.header('X-SOAP-Enabled', 'True')
    // The Device Update Service takes no credentials (a never-signed-in phone asks too, spec §6.1).
    if (area === 'dus') return undefined
    const plainEws = area === 'ews' && block.ews.scheme === 'http'
    if (area !== 'certsrv' && area !== 'abs' && !plainEws && !https) {
      // Exchange requires SSL; Autodiscover's GET over HTTP is the redirect step (MS-OXDISCO).
      if (area === 'autodiscover' && req.method === 'GET' && block.autodiscover.httpRedirect) {
        const port = this.#httpsPort === 443 ? '' : `:${this.#httpsPort}`
        s.operation = 'Autodiscover redirect'
        return reply.redirect(`https://${hostOf(req) || config.site.smtpDomain}${port}${req.url}`, 302)
      }
      return reply
        .code(403)
        .type('text/html')
        .send('<html><body><h1>403.4 - Forbidden: SSL is required to view this resource.</h1></body></html>')
    }
    const knobs =
      area === 'certsrv'
        ? block.certsrv
        : area === 'autodiscover'
          ? block.autodiscover
          : area === 'abs'
            ? block.abs
            : block.ews
    if (!knobs.authentication) return undefined
    let conn = this.#connections.get(req.socket)
    if (!conn) {
      conn = {}
      this.#connections.set(req.socket, conn)
    }
    const server =
      config.hosts.find((h) =>
        h.roles.includes(area === 'certsrv' ? 'ca' : area === 'abs' ? 'abs' : 'exchange'),
      )?.name ?? config.site.adDomain
    this.#concealCredentials(req)
    const outcome = authenticate(req.headers.authorization, conn, {
      users: config.users,
      domain: config.site.netbiosName,
      host: server,
      kerberos: knobs.kerberos,
      krb5: {
        realm: this.deps.kerberos(),
        nowMs: Math.floor(this.deps.clock.now()),
        maxSkewMs: this.deps.kerberos().maxSkewMs,
        replay: this.#replay,
      },
      ...(area !== 'certsrv' ? { basicRealm: hostOf(req) || server } : {}),
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
    // The server's last token (the Kerberos AP-REP for mutual authentication, SPNEGO's accept-completed).
    if (outcome.headers) void reply.header('www-authenticate', [...outcome.headers])
    return undefined
  }

  /** Faults, decided when the user is known and the body read (so a rule can match user and operation). */
  async #faults(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const s = stateOf(req)
    // An Exchange body is parsed once, here, so that a fault rule can match its operation.
    if (s.area !== undefined && s.area !== 'certsrv' && typeof req.body === 'string' && req.body !== '') {
      try {
        s.xml = parseXml(req.body)
        const request = soapRequest(s.xml)
        s.operation = 'op' in request ? request.op.name : s.xml.name
      } catch (err) {
        if (!(err instanceof LabDecodeError)) throw err
      }
    }
    const faults = this.deps.faults
    if (faults.idle) return undefined
    const fields: Record<string, string> = {
      method: req.method,
      path: req.url.split('?')[0]!,
      host: hostOf(req),
    }
    if (s.user !== undefined) fields.user = s.user
    if (s.operation !== undefined) fields.operation = s.operation
    const applied = faults.decide({ server: 'http', peer: this.#peer(req), fields })
    if (!applied) return undefined
    s.fault = applied
    const plan = this.plan(applied.fault, 'tcp')
    s.plan = plan
    if (plan.hook === 'silence') {
      this.#journal(req, 0)
      return reply.hijack() // never answered; the socket is closed when the lab stops
    }
    if (plan.hook === 'connection') {
      this.#journal(req, 0)
      reply.hijack()
      if (plan.kind === 'garbage') req.socket.end(Buffer.from(plan.bytes))
      else req.socket.resetAndDestroy()
      return reply
    }
    await waitFor(plan.delayMs)
    const code = plan.protocol?.kind === 'error' ? plan.protocol.code : undefined
    if (code !== undefined) {
      if (code === '401') reply.header('www-authenticate', ['Negotiate', 'NTLM'])
      return reply.code(Number(code)).type('text/html').send(`<html><body><h1>${code}</h1></body></html>`)
    }
    return undefined
  }

  async #onSend(req: FastifyRequest, payload: unknown): Promise<unknown> {
    const plan = stateOf(req).plan
    if (plan?.hook !== 'behaviour' || !plan.altersBytes) return payload
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : '')
    return Buffer.from(plan.onEncoded(bytes))
  }

  #journal(req: FastifyRequest, status: number): void {
    this.record('http:request', this.#event(req, status))
  }

  /** The journal event of a request and its answer (status 0: none was sent). */
  #event(req: FastifyRequest, status: number): EventWrite<HttpRequestDetail> {
    const s = stateOf(req)
    const host = hostOf(req)
    const answered = status === 0 ? `no answer (fault ${s.fault?.fault.kind ?? ''})` : String(status)
    const what = [s.operation, s.folder, s.address].filter((v) => v !== undefined).join(' ')
    return {
      summary:
        `${req.method} ${req.url} (${host || '-'})${what ? ` ${what}` : ''} → ${answered}` +
        `${s.code && s.code !== 'NoError' ? ` ${s.code}` : ''}${s.user ? ` as ${s.user}` : ''}` +
        `${s.auth && status === 401 ? `: ${s.auth}` : ''}`,
      detail: {
        method: req.method,
        url: req.url,
        host,
        status,
        ...(s.area ? { area: s.area } : {}),
        ...(s.operation ? { operation: s.operation } : {}),
        ...(s.folder ? { folder: s.folder } : {}),
        ...(s.items !== undefined ? { items: s.items } : {}),
        ...(s.code ? { code: s.code } : {}),
        ...(s.address ? { address: s.address } : {}),
        ...(s.firmware ? { firmware: s.firmware } : {}),
        ...(s.user ? { user: s.user, scheme: s.scheme } : {}),
        ...(s.auth ? { auth: s.auth } : {}),
        ...(s.fault ? { fault: s.fault.fault.kind } : {}),
      },
      peer: this.#peer(req),
      ...(s.user && !s.user.startsWith('(') ? { device: { user: s.user } } : {}),
    }
  }
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .type('text/html')
    .send('<html><body><h1>404 - File or directory not found.</h1></body></html>')
}
