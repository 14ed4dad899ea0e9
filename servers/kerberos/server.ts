import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram'
import type { Socket } from 'node:net'
import { ETYPE_NAMES } from '../../core/auth/krb5/crypto.js'
import { KrbErrorCode, decodeKerberos, principalText, type KdcReq } from '../../core/auth/krb5/messages.js'
import { LabDecodeError } from '../../core/errors.js'
import { waitFor } from '../../core/faults/apply.js'
import type { Peer } from '../../core/journal/journal.js'
import { parseDuration } from '../../core/schema/common.js'
import { closeTcp, messageDeadline, type TcpListener } from '../../core/net/tcp.js'
import { closeUdp } from '../../core/net/udp.js'
import type { BoundPort, ListenRequest } from '../../core/server.js'
import { ServerBase } from '../../core/server-base.js'
import type { ServerDeps } from '../contract.js'
import { answerAs, answerTgs, krbError, type KdcContext, type KdcOutcome } from './behaviour.js'
import type { KerberosEvents } from './events.js'
import { ETYPE_NUMBERS, type KerberosBlock } from './schema.js'

/** A TCP message is a 4-octet length and the message (RFC 4120 §7.2.2); the lab takes up to 64 KiB. */
const TCP_MAX = 65_536
const TCP_IDLE_MS = 120_000
const hex = (b: Uint8Array, max = 64): string => Buffer.from(b.subarray(0, max)).toString('hex')

type Transport = 'udp' | 'tcp'

/** The KDC: UDP and TCP I/O, the fault hook points, journal events; the answers are `answerAs`/`answerTgs`. */
export class KerberosServer extends ServerBase<KerberosBlock, ServerDeps, KerberosEvents> {
  readonly name = 'kerberos'
  #block: KerberosBlock
  readonly #listen: readonly ListenRequest[]
  #udp: UdpSocket[] = []
  #tcp: TcpListener[] = []

  constructor(block: KerberosBlock, listen: readonly ListenRequest[], deps: ServerDeps) {
    super(deps)
    this.#block = block
    this.#listen = listen
  }

  configure(block: KerberosBlock): void {
    this.#block = block
  }

  /**
   * UDP, then TCP on the same port number: a client's krb5.conf names one port for both (`kdc = host:port`),
   * so with ephemeral ports TCP takes the number UDP got (retried if another socket holds it).
   */
  protected async bind(): Promise<readonly BoundPort[]> {
    const bound: BoundPort[] = []
    const udpReq = this.#listen.find((l) => l.transport === 'udp')
    const tcpReq = this.#listen.find((l) => l.transport === 'tcp')
    for (let attempt = 0; ; attempt++) {
      const socket = udpReq
        ? await this.listenUdp(udpReq.address, udpReq.port, (s, msg, rinfo) => this.#onUdp(s, msg, rinfo))
        : undefined
      const udpPort = socket?.address().port
      const share = udpReq?.port === 0 && tcpReq?.port === 0
      try {
        if (tcpReq) {
          const listener = await this.listenTcp(tcpReq.address, share ? udpPort! : tcpReq.port, (s) =>
            this.#onTcp(s),
          )
          this.#tcp.push(listener)
          const addr = listener.server.address()
          bound.push({
            ...tcpReq,
            server: 'kerberos',
            port: typeof addr === 'object' && addr ? addr.port : tcpReq.port,
          })
        }
      } catch (err) {
        if (socket) await closeUdp(socket)
        if (share && attempt < 10) continue
        throw err
      }
      if (socket && udpReq) {
        this.#udp.push(socket)
        bound.unshift({ ...udpReq, server: 'kerberos', address: socket.address().address, port: udpPort! })
      }
      return bound
    }
  }

  protected async unbind(): Promise<void> {
    const [udp, tcp] = [this.#udp, this.#tcp]
    this.#udp = []
    this.#tcp = []
    await Promise.all([...udp.map((u) => closeUdp(u)), ...tcp.map((t) => closeTcp(t))])
  }

  #onUdp(socket: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
    const peer: Peer = { address: rinfo.address, port: rinfo.port, transport: 'udp' }
    this.track(
      this.#exchange(msg, peer, 'udp').then((bytes) => {
        if (bytes && this.listening) this.sendDatagram(socket, bytes, peer)
      }),
      peer,
    )
  }

  #onTcp(socket: Socket): void {
    const peer: Peer = {
      address: socket.remoteAddress ?? '?',
      port: socket.remotePort ?? 0,
      transport: 'tcp',
    }
    let buffered: Buffer = Buffer.alloc(0)
    let chain: Promise<void> = Promise.resolve()
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy())
    const deadline = messageDeadline(socket, TCP_IDLE_MS, () =>
      this.messageTimedOut(socket, peer, TCP_IDLE_MS),
    )
    socket.on('data', (data: Buffer) => {
      buffered = buffered.length === 0 ? data : Buffer.concat([buffered, data])
      for (;;) {
        if (buffered.length < 4) break
        const length = buffered.readUInt32BE(0)
        if (length & 0x80000000 || length > TCP_MAX) {
          // RFC 4120 §7.2.2: a length the KDC will not take is answered KRB_ERR_FIELD_TOOLONG, then closed.
          this.#tooLong(socket, peer, length)
          return
        }
        if (buffered.length < 4 + length) break
        const frame = Uint8Array.from(buffered.subarray(4, 4 + length))
        buffered = buffered.subarray(4 + length)
        chain = chain
          .then(async () => {
            const bytes = await this.#exchange(frame, peer, 'tcp')
            if (bytes && this.listening && !socket.destroyed) socket.write(frameTcp(bytes))
          })
          .catch((err: unknown) => this.failed(err, peer))
        this.track(chain, peer)
      }
      deadline(buffered.length > 0)
    })
  }

  #context(): KdcContext {
    return {
      realm: this.deps.kerberos(),
      etypes: this.#block.etypes.map((e) => ETYPE_NUMBERS[e]),
      // Kerberos times are whole seconds and microseconds: the lab clock's sub-millisecond part is dropped.
      nowMs: Math.floor(this.deps.clock.now()),
      // The domain's policy, which every Kerberos service of the lab shares (the realm carries it).
      maxSkewMs: this.deps.kerberos().maxSkewMs,
      ticketLifetimeMs: parseDuration(this.#block.ticketLifetime),
    }
  }

  #tooLong(socket: Socket, peer: Peer, length: number): void {
    const ctx = this.#context()
    const reply = krbError(ctx, KrbErrorCode.KRB_ERR_FIELD_TOOLONG, ctx.realm.krbtgt)
    this.record('kerberos:response', {
      summary: `a TCP message of ${length} octets → KRB_ERR_FIELD_TOOLONG`,
      detail: { error: 'KRB_ERR_FIELD_TOOLONG', bytes: length },
      peer,
    })
    socket.end(frameTcp(reply))
  }

  /** One request in, the reply to send (undefined: none); journaled before it leaves. */
  async #exchange(msg: Uint8Array, peer: Peer, transport: Transport): Promise<Uint8Array | undefined> {
    const { faults } = this.deps
    let req: KdcReq
    try {
      const m = decodeKerberos(msg)
      if (m.kind !== 'as-req' && m.kind !== 'tgs-req')
        throw new LabDecodeError('LAB_ERR_KRB5_DECODE', `a ${m.kind} sent to the KDC`, 0)
      req = m.req
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      this.record('kerberos:malformed', {
        summary: `malformed ${transport} message (${msg.length} octets): ${err.message}`,
        detail: { bytes: msg.length, error: err.message, hex: hex(msg), transport },
        peer,
      })
      this.warnLimited('malformed', { peer: `${peer.address}:${peer.port}` }, err.message)
      return undefined
    }
    const msgName = req.msgType === 10 ? 'AS' : 'TGS'
    const principal = req.body.cname ? `${principalText(req.body.cname)}@${req.body.realm.toUpperCase()}` : ''
    const service = req.body.sname ? principalText(req.body.sname) : ''
    this.record('kerberos:request', {
      summary: `${msgName}-REQ ${principal ? `${principal} ` : ''}for ${service} (${req.body.etypes.map((e) => ETYPE_NAMES[e] ?? e).join(', ')})`,
      detail: {
        msg: msgName,
        principal,
        service,
        offered: req.body.etypes.map((e) => ETYPE_NAMES[e] ?? String(e)),
        transport,
      },
      peer,
    })
    const applied = faults.decide({ server: 'kerberos', peer, fields: { principal, service, msg: msgName } })
    const plan = this.plan(applied?.fault, transport, 120)
    if (plan.hook === 'silence') return undefined
    if (plan.hook === 'connection') return plan.kind === 'garbage' ? plan.bytes : undefined
    await waitFor(plan.delayMs)
    const ctx = this.#context()
    let outcome: KdcOutcome
    if (plan.protocol?.kind === 'error') {
      const code =
        KrbErrorCode[plan.protocol.code as keyof typeof KrbErrorCode] ?? KrbErrorCode.KRB_ERR_GENERIC
      outcome = {
        reply: krbError(ctx, code, req.body.sname ?? ctx.realm.krbtgt),
        msg: msgName,
        principal,
        service,
        offered: req.body.etypes,
        error: plan.protocol.code,
        why: 'fault',
      }
    } else outcome = req.msgType === 10 ? answerAs(req, ctx) : answerTgs(req, ctx)
    let reply = outcome.reply
    let error = outcome.error
    if (transport === 'udp' && reply.length > this.#block.udpReplyLimit) {
      reply = krbError(ctx, KrbErrorCode.KRB_ERR_RESPONSE_TOO_BIG, req.body.sname ?? ctx.realm.krbtgt)
      error = 'KRB_ERR_RESPONSE_TOO_BIG'
    }
    const bytes = plan.onEncoded(reply)
    const who = outcome.principal !== '?' ? outcome.principal : principal
    this.record('kerberos:response', {
      summary: `${msgName}-${error ? `ERROR ${error}` : 'REP'} ${who} for ${outcome.service}: ${error === 'KRB_ERR_RESPONSE_TOO_BIG' ? `${outcome.reply.length} octets over UDP (retry over TCP)` : outcome.why}`,
      detail: {
        msg: msgName,
        principal: who,
        service: outcome.service,
        offered: outcome.offered.map((e) => ETYPE_NAMES[e] ?? String(e)),
        ...(outcome.chosen !== undefined && !error ? { chosen: ETYPE_NAMES[outcome.chosen] } : {}),
        ...(error ? { error } : {}),
        bytes: bytes.length,
        transport,
        ...(plan.fault ? { fault: plan.fault.kind } : {}),
      },
      peer,
      ...(who && !error ? { device: { user: who } } : {}),
    })
    return bytes
  }
}

function frameTcp(bytes: Uint8Array): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt32BE(bytes.length)
  return Buffer.concat([head, bytes])
}
