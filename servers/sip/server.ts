import { ReplayCache } from '../../core/auth/krb5/acceptor.js'
import type { Socket } from 'node:net'
import { CLIENT_RENEG_LIMIT, CLIENT_RENEG_WINDOW, type TLSSocketOptions } from 'node:tls'
import type { LabPki } from '../../certs/pki.js'
import { TlsContexts } from '../../certs/tls.js'
import { LabDecodeError } from '../../core/errors.js'
import { waitFor, type ProtocolFault } from '../../core/faults/apply.js'
import type { AppliedFault } from '../../core/faults/engine.js'
import type { Peer } from '../../core/journal/journal.js'
import { isRenegotiationRefused, secureOver } from '../../core/net/socket-duplex.js'
import { clientHelloLength, decodeClientHello, usesSha1, versionName } from '../../core/net/client-hello.js'
import { closeTcp, messageDeadline, type TcpListener } from '../../core/net/tcp.js'
import { ServerBase } from '../../core/server-base.js'
import type { BoundPort, ListenRequest } from '../../core/server.js'
import type { ServerDeps } from '../contract.js'
import {
  SecurityAssociations,
  answer,
  respond,
  type SipConnection,
  type SipContext,
  type SipOutcome,
  type SipSlice,
} from './behaviour.js'
import { SipFramer, encodeSip, uriOf, type SipRequest } from './codec.js'
import type { SipEvents, SipRequestDetail } from './events.js'
import type { Registrar } from './registrar.js'

export type { SipSlice } from './behaviour.js'

const IDLE_MS = 10 * 60_000

/**
 * The OCS 2007 R2 pool on 5061 (TLS, with the pool's certificate from the lab PKI) and, when the scenario
 * says, 5060 (TCP). Before each TLS handshake the ClientHello is read and journaled — SNI, versions, cipher
 * suites, signature algorithms — so a QA engineer sees what the phone offered. Messages are framed from the
 * stream (split, pipelined, CRLF keep-alives), answered in order, and every request is journaled with its
 * user and outcome.
 */
export class SipServer extends ServerBase<SipSlice, ServerDeps, SipEvents> {
  readonly name = 'sip'
  #config: SipSlice
  readonly #listen: readonly ListenRequest[]
  #listeners: TcpListener[] = []
  readonly #registrar: Registrar
  /** Kerberos authenticators this pool has seen (RFC 4120 §3.2.3). */
  readonly #replay = new ReplayCache()
  /** Connections accepted, for their ms-received-cid. */
  #connections = 0

  constructor(config: SipSlice, listen: readonly ListenRequest[], deps: ServerDeps, registrar: Registrar) {
    super(deps)
    this.#config = config
    this.#listen = listen
    this.#registrar = registrar
  }

  configure(config: SipSlice): void {
    this.#config = config
  }

  protected async bind(): Promise<readonly BoundPort[]> {
    const bound: BoundPort[] = []
    for (const planned of this.#listen) {
      // 443 only when the scenario gives it an address of its own (HTTPS has 443 on the lab's address).
      if (planned.name === 'sip-443' && !this.#config.block.tls443) continue
      const req =
        planned.name === 'sip-443' && this.#config.block.tls443
          ? { ...planned, address: this.#config.block.tls443.address }
          : planned
      const tls = req.name !== 'sip-tcp'
      const listener = await this.listenTcp(req.address, req.port, (s) =>
        this.#onConnection(s, tls, req.address),
      )
      this.#listeners.push(listener)
      const addr = listener.server.address()
      bound.push({ ...req, server: 'sip', port: typeof addr === 'object' && addr ? addr.port : req.port })
    }
    return bound
  }

  protected async unbind(): Promise<void> {
    const listeners = this.#listeners
    this.#listeners = []
    await Promise.all(listeners.map((l) => closeTcp(l)))
  }

  #record<K extends keyof SipEvents>(
    kind: K,
    summary: string,
    detail: SipEvents[K],
    peer: Peer,
    user?: string,
  ): void {
    this.record(kind, { summary, detail, peer, ...(user ? { device: { user } } : {}) })
  }

  #decide(peer: Peer, fields: Record<string, string>, user?: string): AppliedFault | undefined {
    const faults = this.deps.faults
    return faults.idle
      ? undefined
      : faults.decide({ server: 'sip', peer, ...(user ? { device: { user } } : {}), fields })
  }

  #contexts: { pki: LabPki; contexts: TlsContexts } | undefined

  /** The pool's own certificate unless the address or SNI names another host: this server is the pool. */
  #tlsOptions(localAddress: string): Pick<TLSSocketOptions, 'secureContext' | 'SNICallback'> {
    const pki = this.deps.pki()
    if (this.#contexts?.pki !== pki)
      this.#contexts = { pki, contexts: new TlsContexts(pki, { legacy: true }) }
    return this.#contexts.contexts.serverOptions(localAddress, this.#config.pool)
  }

  #onConnection(socket: Socket, tls: boolean, localAddress: string): void {
    const peer: Peer = {
      address: socket.remoteAddress ?? '?',
      port: socket.remotePort ?? 0,
      transport: tls ? 'tls' : 'tcp',
    }
    socket.setTimeout(IDLE_MS, () => socket.destroy())
    // The ClientHello, the handshake and every request must end in time (the first counted from the connection).
    const ms = this.#config.block.messageTimeoutMs
    const deadline = messageDeadline(socket, ms, () => this.messageTimedOut(socket, peer, ms))
    if (!tls) {
      if (!this.#config.block.tcp) {
        this.#record(
          'sip:tcp-refused',
          'SIP over TCP is off in this scenario (servers.sip.tcp): closed',
          {},
          peer,
        )
        socket.destroy()
        return
      }
      this.#serve(socket, peer, deadline)
      return
    }
    // Read the ClientHello before handing the bytes to TLS, to journal what the client offers.
    let head = Buffer.alloc(0)
    const onData = (data: Buffer): void => {
      head = Buffer.concat([head, data])
      const need = clientHelloLength(head)
      if (need !== undefined && (need === 0 || head.length < need) && head.length < 64 * 1024) return
      socket.off('data', onData)
      socket.pause()
      this.#hello(head, peer)
      const f = this.#decide(peer, { stage: 'tls' })
      const plan = this.plan(f?.fault, 'tcp')
      if (plan.hook !== 'behaviour') {
        this.#record(
          'sip:tls-aborted',
          `TLS aborted before the handshake (fault ${plan.kind})`,
          { fault: plan.kind },
          peer,
        )
        if (plan.hook === 'connection' && plan.kind === 'garbage') socket.end(Buffer.from(plan.bytes))
        else if (plan.hook === 'connection') socket.resetAndDestroy()
        return // drop: the handshake never completes
      }
      // TLS over JS, fed first with what was read (a native handle would lose the bytes already read).
      const secure = secureOver(socket, head, this.#tlsOptions(localAddress))
      const tap = this.tapOf(socket)
      if (tap) secure.on('keylog', (line: Buffer) => tap.keylog(line.toString('latin1')))
      secure.on('error', (err: Error) => {
        if (isRenegotiationRefused(err)) this.#refusedRenegotiation(peer)
        else
          this.#record('sip:tls-failed', `TLS handshake failed: ${err.message}`, { error: err.message }, peer)
        secure.destroy()
      })
      secure.once('secure', () => {
        this.#record(
          'sip:tls-established',
          `TLS ${secure.getProtocol() ?? '?'} ${secure.getCipher().name} established`,
          { protocol: secure.getProtocol(), cipher: secure.getCipher().name },
          peer,
        )
        this.#serve(secure, peer, deadline)
      })
    }
    socket.on('data', onData)
  }

  #refusedRenegotiation(peer: Peer): void {
    const [limit, windowS] = [CLIENT_RENEG_LIMIT, CLIENT_RENEG_WINDOW]
    this.#record(
      'sip:tls-renegotiation-refused',
      `TLS renegotiation refused (more than ${limit} in ${windowS} s): connection closed`,
      { limit, windowS },
      peer,
    )
  }

  #hello(bytes: Buffer, peer: Peer): void {
    try {
      const h = decodeClientHello(bytes)
      const sha1Only = h.signatureAlgorithms.length > 0 && h.signatureAlgorithms.every(usesSha1)
      this.#record(
        'sip:client-hello',
        `ClientHello ${h.versions.map(versionName).join('/')}${h.serverName ? ` SNI ${h.serverName}` : ' (no SNI)'}, ` +
          `${h.cipherSuites.length} cipher suites${h.signatureAlgorithms.length ? `, ${h.signatureAlgorithms.length} signature algorithms${sha1Only ? ' (SHA-1 only: a SHA-2 certificate will fail)' : ''}` : ', no signature_algorithms (TLS 1.0/1.1: SHA-1/MD5)'}`,
        {
          versions: h.versions.map(versionName),
          ...(h.serverName ? { serverName: h.serverName } : {}),
          cipherSuites: h.cipherSuites.map((c) => `0x${c.toString(16).padStart(4, '0')}`),
          signatureAlgorithms: h.signatureAlgorithms.map((c) => `0x${c.toString(16).padStart(4, '0')}`),
          sslv2: h.sslv2,
        },
        peer,
      )
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      this.#record('sip:client-hello', `not a TLS ClientHello: ${err.message}`, { error: err.message }, peer)
    }
  }

  /** Frames SIP from a (TLS or TCP) stream and answers each request in order. */
  #serve(stream: Socket, peer: Peer, deadline: (pending: boolean) => void): void {
    deadline(false)
    const framer = new SipFramer()
    // OCS names each connection by an id it writes into Via and Contact (ms-received-cid) with the peer's port.
    const conn: SipConnection = {
      received: { port: peer.port, cid: (++this.#connections).toString(16).toUpperCase() },
    }
    // A security association belongs to its connection (issue 16): another connection that presents its
    // opaque is challenged afresh.
    const sas = new SecurityAssociations()
    stream.once('close', () => this.#registrar.closed(conn))
    let chain: Promise<void> = Promise.resolve()
    stream.on('data', (data: Buffer) => {
      let messages
      try {
        messages = framer.push(data)
        deadline(framer.pending > 0)
      } catch (err) {
        if (!(err instanceof LabDecodeError)) throw err
        // The stream cannot be resynchronised: 400 is not possible without a request; close.
        stream.removeAllListeners('data')
        this.#record(
          'sip:malformed',
          `malformed stream, closed: ${err.message}`,
          { error: err.message },
          peer,
        )
        stream.end(Buffer.from(`SIP/2.0 400 Bad Request\r\nServer: RTC/3.5\r\nContent-Length: 0\r\n\r\n`))
        return
      }
      for (const m of messages) {
        if (m === 'ping') {
          stream.write('\r\n') // RFC 5626 §3.5.1 pong
          continue
        }
        if (m === 'pong') continue
        if (m.kind === 'response') continue // answers to our own requests: we send none
        chain = chain
          .then(() => this.#handle(m, conn, sas, stream, peer))
          .catch((err: unknown) => this.failed(err, peer))
        this.track(chain, peer)
      }
    })
  }

  async #handle(
    req: SipRequest,
    conn: SipConnection,
    sas: SecurityAssociations,
    stream: Socket,
    peer: Peer,
  ): Promise<void> {
    if (stream.destroyed || !this.listening) return
    const from = uriOf(req.headers.get(req.method === 'REGISTER' ? 'to' : 'from')).replace(/^sips?:/i, '')
    const event = (req.headers.get('event') ?? '').split(';')[0]!.trim()
    const user = conn.user?.signInAddress
    const fields: Record<string, string> = { stage: 'request', method: req.method, user: from }
    if (event) fields.event = event
    const f = this.#decide(peer, fields, user)?.fault
    const plan = this.plan(f, 'tcp')
    const detail = requestDetail(req, from, event, f?.kind)
    if (plan.hook !== 'behaviour') {
      const what =
        plan.hook === 'silence' ? `no answer (fault ${plan.kind})` : `connection ${plan.kind} (fault)`
      this.#record('sip:request', `${req.method} ${from} → ${what}`, detail, peer, user)
      if (plan.hook === 'connection' && plan.kind === 'garbage') stream.end(Buffer.from(plan.bytes))
      else if (plan.hook === 'connection') stream.resetAndDestroy()
      return
    }
    await waitFor(plan.delayMs)
    const outcome = faultedStatus(req, plan.protocol) ?? answer(req, conn, this.#context(plan.protocol), sas)
    if (!outcome) return
    if (outcome.registration && outcome.response.status === 200)
      this.#registrar.apply(conn, outcome.registration, peer, this.deps.clock)
    const bytes = encodeSip(outcome.response)
    const sent = plan.altersBytes ? Buffer.from(plan.onEncoded(bytes)) : bytes
    const who = outcome.user ?? user
    this.recordThen(
      'sip:request',
      {
        summary: `${req.method}${event ? ` (${event})` : ''} ${from} → ${outcome.summary}`,
        detail: { ...detail, status: outcome.response.status },
        peer,
        ...(who ? { device: { user: who } } : {}),
      },
      () => {
        if (!stream.destroyed) stream.write(sent)
      },
    )
  }

  /** What the pool's behaviour reads of the lab for one request (an `answer` fault may empty provisioning). */
  #context(protocol: ProtocolFault | undefined): SipContext {
    const provisioning = protocol?.kind === 'answer' ? protocol.set.provisioning : undefined
    const signature = protocol?.kind === 'answer' ? protocol.set.signature : undefined
    return {
      ...(signature === 'wrong' || signature === 'missing' ? { signature } : {}),
      slice: this.#config,
      now: new Date(Math.floor(this.deps.clock.now())),
      urls: this.#urls(),
      krb5: { realm: this.deps.kerberos(), replay: this.#replay },
      ...(provisioning === 'empty' || provisioning === 'no-dus' || provisioning === 'no-email'
        ? { provisioning }
        : {}),
    }
  }

  /** The HTTP doubles' URLs the pool provisions, with the ports the lab really bound. */
  #urls(): SipContext['urls'] {
    const endpoints = this.deps.endpoints()
    const port = (name: string, standard: number): string => {
      const p = endpoints.find((e) => e.server === 'http' && e.name === name)?.port ?? standard
      return p === standard ? '' : `:${p}`
    }
    const pool = this.#config.pool
    const https = `https://${pool}${port('https', 443)}`
    const http = `http://${pool}${port('http', 80)}`
    const dus = this.#config.block.dus
    return {
      ...(dus === 'blank'
        ? {}
        : {
            dus: {
              internal: `${dus === 'http' ? http : https}/RequestHandler/ucdevice.upx`,
              external: `${https}/RequestHandlerExt/ucdevice.upx`,
            },
          }),
      abs: { internal: `${https}/abs/int/handler`, external: `${https}/abs/ext/handler` },
    }
  }
}

const REASONS: Readonly<Record<string, string>> = {
  '400': 'Bad Request',
  '403': 'Forbidden',
  '404': 'Not Found',
  '480': 'Temporarily Unavailable',
  '486': 'Busy Here',
  '488': 'Not Acceptable Here',
  '500': 'Server Internal Error',
  '503': 'Service Unavailable',
  '504': 'Server Time-out',
}

/** A request as the journal keeps it (its body cut at 2,000 characters). */
function requestDetail(
  req: SipRequest,
  from: string,
  event: string,
  fault: string | undefined,
): SipRequestDetail {
  const accept = req.headers.get('accept')
  return {
    method: req.method,
    uri: req.uri,
    from,
    ...(event ? { event } : {}),
    ...(accept !== undefined ? { accept } : {}),
    ...(req.body.length > 0 ? { body: req.body.toString('utf8').slice(0, 2_000) } : {}),
    ...(fault ? { fault } : {}),
  }
}

/** The status a fault answers with in place of the pool's (`error: {code}`, `answer: {set: {status}}`). */
function faultedStatus(req: SipRequest, protocol: ProtocolFault | undefined): SipOutcome | undefined {
  const set = protocol?.kind === 'answer' ? protocol.set : {}
  const status =
    protocol?.kind === 'error' ? protocol.code : typeof set.status === 'string' ? set.status : undefined
  if (status === undefined) return undefined
  const retry = typeof set.retryAfter === 'number' ? set.retryAfter : undefined
  return {
    response: respond(
      req,
      Number(status),
      REASONS[status] ?? 'Error',
      retry !== undefined ? [['Retry-After', String(retry)]] : [],
    ),
    summary: `${status}${retry !== undefined ? ` Retry-After ${retry}` : ''} (fault)`,
  }
}
