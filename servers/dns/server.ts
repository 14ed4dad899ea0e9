import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram'
import type { Socket } from 'node:net'
import { DeviceConfigs } from '../../core/device-configs.js'
import { LabDecodeError } from '../../core/errors.js'
import { ruleMatches } from '../../core/faults/engine.js'
import { NO_FAULT, waitFor, type BehaviourPlan, type FaultPlan } from '../../core/faults/apply.js'
import type { DeviceRef } from '../../core/journal/devices.js'
import type { EventWrite } from '../../core/journal/events.js'
import type { Peer } from '../../core/journal/journal.js'
import { closeTcp, messageDeadline, type TcpListener } from '../../core/net/tcp.js'
import { closeUdp } from '../../core/net/udp.js'
import type { DatagramSocket, UdpPump } from '../../core/net/udp-pumps.js'
import type { BoundPort, ListenRequest } from '../../core/server.js'
import type { ServerDeps } from '../contract.js'
import { ServerBase } from '../../core/server-base.js'
import { alterAnswers, queryProblem, resolveDns, responseTo, udpLimit, type DnsAnswer } from './behaviour.js'
import {
  DNS_HEADER_LENGTH,
  DnsRcode,
  decodeDns,
  encodeDns,
  questionEnd,
  stampAnswer,
  frameDns,
  peekDnsId,
  rcodeName,
  recordText,
  takeDnsFrames,
  typeName,
  type DnsMessage,
  type DnsRecord,
} from './codec.js'
import type { DnsEvents, DnsMalformedDetail, DnsQueryDetail } from './events.js'
import type { DnsRuntime } from './runtime.js'
import { lower, sliceRecords, zoneIndexer, type DnsSlice, type ZoneData } from './zone.js'

type Transport = 'udp' | 'tcp'

/** An encoded answer that depends only on (view, name, type, class, size limit): reused with the id patched. */
interface Cached {
  readonly bytes: Uint8Array
  readonly questionEnd: number
  readonly rcode: number
  readonly tc: boolean
  readonly answers: readonly string[]
  /** The end of the journal summary: `→ NOERROR <records>`. */
  readonly outcome: string
  /** The journal's summary and detail (as JSON, after the id) per transport and view (at `slot`), made at first use. */
  readonly described: ({ readonly summary: string; readonly detailTail: string } | undefined)[]
}

/** What the journal learns of one exchange: a query's event, or a malformed message's. */
type Written =
  | { readonly kind: 'dns:query'; readonly summary: string; readonly detail: DnsQueryDetail }
  | { readonly kind: 'dns:malformed'; readonly summary: string; readonly detail: DnsMalformedDetail }

/** One exchange's outcome: an answer to send (its detail kept as JSON when cached), nothing, or a reset. */
type Outcome = Written &
  (
    | { readonly action: 'send'; readonly bytes: Uint8Array; readonly detailJson?: string }
    | { readonly action: 'none' }
    | { readonly action: 'reset' }
  )

/** What every event of a decoded query says of it. */
interface Asked {
  readonly id: number
  readonly qname: string
  readonly qtype: string
  readonly transport: Transport
  readonly fault?: string
}

const CACHE_LIMIT = 20_000
const TCP_IDLE_MS = 30_000

/**
 * The DNS server: UDP and TCP on one port, the fault hook points, one journal event per exchange; the
 * answer itself comes from `resolveDns`. Answers that depend only on the question are encoded once and
 * reused with the id, RD/CD bits and the question's letter case patched in.
 */
export class DnsServer extends ServerBase<DnsSlice, ServerDeps, DnsEvents> {
  readonly name = 'dns'
  #config: DnsSlice
  readonly #listen: readonly ListenRequest[]
  readonly #runtime: DnsRuntime
  #udp: UdpSocket[] = []
  /** Pump threads per UDP socket (only when the sockets were bound to share their port). */
  #pumps: { readonly address: string; readonly port: number; readonly threads: UdpPump[] }[] = []
  #sharedPorts = false
  /** The pump threads being started or stopped after a change of `workers`. */
  #resizing: Promise<void> = Promise.resolve()
  #tcp: TcpListener[] = []
  #base!: ZoneData
  /** Devices with a configuration of their own (a trainee's exercise): a view each, before the scenario's. */
  readonly #devices = new DeviceConfigs<DnsSlice>((address) =>
    this.deps.journal.devices.resolve(undefined, address),
  )
  #views: {
    readonly matches: (peer: Peer, device: DeviceRef | undefined) => boolean
    readonly zone: ZoneData
  }[] = []
  #cache = new Map<string, Cached>()
  readonly #unsubscribe: () => void

  constructor(config: DnsSlice, listen: readonly ListenRequest[], deps: ServerDeps, runtime: DnsRuntime) {
    super(deps)
    this.#config = config
    this.#listen = listen
    this.#runtime = runtime
    this.#rebuild()
    this.#unsubscribe = runtime.onChange(() => this.#rebuild())
  }

  /** Gives one device its own records (a trainee's exercise), or takes them back. */
  configureDevice(mac: string, config: DnsSlice | undefined): void {
    this.#devices.set(mac, config)
    this.#rebuild()
  }

  /** A change of `workers` resolves once the threads have started or stopped (a reload waits for it). */
  configure(config: DnsSlice): Promise<void> {
    const workers = config.block.workers
    this.#config = config
    this.#rebuild()
    if (this.listening && workers !== (this.#pumps[0]?.threads.length ?? 0)) return this.#resize(workers)
    return Promise.resolve()
  }

  /** Starts or stops pump threads for a new `workers`; needs sockets bound to share their port. */
  #resize(workers: number): Promise<void> {
    if (!this.#sharedPorts) {
      this.deps.logger.warn(
        { workers },
        'dns: workers apply when the DNS server next binds (it started with none, so its port is not shared)',
      )
      return Promise.resolve()
    }
    this.#resizing = this.#resizing.then(async () => {
      for (const p of this.#pumps) {
        while (p.threads.length > workers) await p.threads.pop()!.close()
        while (p.threads.length < workers && this.listening)
          p.threads.push(await this.pumpUdp(p.address, p.port, (s, msg, rinfo) => this.#onUdp(s, msg, rinfo)))
      }
    })
    this.track(this.#resizing)
    // A thread that fails to start is journaled (track); the reload that asked for it still completes.
    return this.#resizing.catch(() => undefined)
  }

  /** Recomputes every view's zone data from the scenario and the runtime changes; forgets cached answers. */
  #rebuild(): void {
    const layer = (records: DnsRecord[]): DnsRecord[] => this.#runtime.applyTo(records)
    const index = zoneIndexer(this.#config)
    const base = sliceRecords(this.#config, layer)
    this.#base = index(base)
    const own = [...this.#devices.entries()].map(([mac, c]) => ({
      matches: (_peer: Peer, device: DeviceRef | undefined) => device?.mac === mac,
      zone: index(sliceRecords(c, layer)),
    }))
    const scenarioViews = this.#config.block.views.map((view) => ({
      matches: (peer: Peer, device: DeviceRef | undefined) =>
        ruleMatches(view.match, { server: 'dns', peer, ...(device ? { device } : {}) }),
      zone: index(sliceRecords(this.#config, layer, view)),
    }))
    this.#views = [...own, ...scenarioViews]
    this.#runtime.served = base
    this.#cache = new Map()
  }

  protected async bind(): Promise<readonly BoundPort[]> {
    const bound: BoundPort[] = []
    const udpReqs = this.#listen.filter((l) => l.transport === 'udp')
    const tcpReqs = this.#listen.filter((l) => l.transport === 'tcp')
    for (const [i, req] of udpReqs.entries()) {
      const tcpReq = tcpReqs[i]
      // dig and every resolver use one port for both transports: with an ephemeral UDP port, TCP takes the same number.
      const sharePort = tcpReq !== undefined && req.port === 0 && tcpReq.port === 0
      const workers = this.#config.block.workers
      for (let attempt = 0; ; attempt++) {
        const socket = await this.listenUdp(
          req.address,
          req.port,
          (s, msg, rinfo) => this.#onUdp(s, msg, rinfo),
          workers > 0 ? { reusePort: true } : {},
        )
        const port = socket.address().port
        if (tcpReq) {
          try {
            const listener = await this.listenTcp(tcpReq.address, sharePort ? port : tcpReq.port, (s) =>
              this.#onTcp(s),
            )
            this.#tcp.push(listener)
            const addr = listener.server.address()
            bound.push({
              ...tcpReq,
              server: 'dns',
              port: typeof addr === 'object' && addr ? addr.port : tcpReq.port,
            })
          } catch (err) {
            await closeUdp(socket)
            if (sharePort && attempt < 10) continue
            throw err
          }
        }
        this.#udp.push(socket)
        bound.unshift({ ...req, server: 'dns', address: socket.address().address, port })
        if (workers > 0) await this.#startPumps(socket.address().address, port, workers)
        break
      }
    }
    return bound
  }

  async #startPumps(address: string, port: number, workers: number): Promise<void> {
    this.#sharedPorts = true
    const threads: UdpPump[] = []
    this.#pumps.push({ address, port, threads })
    for (let i = 0; i < workers; i++)
      threads.push(await this.pumpUdp(address, port, (s, msg, rinfo) => this.#onUdp(s, msg, rinfo)))
  }

  protected async unbind(): Promise<void> {
    this.#unsubscribe()
    await this.#resizing
    const udp = this.#udp
    const tcp = this.#tcp
    const pumps = this.#pumps.flatMap((p) => p.threads)
    this.#udp = []
    this.#tcp = []
    this.#pumps = []
    await Promise.all([
      ...pumps.map((p) => p.close()),
      ...udp.map((u) => closeUdp(u)),
      ...tcp.map((t) => closeTcp(t)),
    ])
  }

  // ------------------------------------------------------------------------------------------- transports

  #onUdp(socket: DatagramSocket, msg: Buffer, rinfo: RemoteInfo): void {
    const peer: Peer = { address: rinfo.address, port: rinfo.port, transport: 'udp' }
    const outcome = this.#exchange(msg, peer, 'udp')
    const deliver = (o: Outcome): void => {
      if (!this.listening) return
      if (o.action !== 'send') {
        this.#record(peer, o)
        return
      }
      this.recordThen(o.kind, this.#event(peer, o), () => {
        // No callback: a send error reaches the socket's 'error' listener (logged), and each send costs less.
        if (this.listening) this.sendDatagram(socket, o.bytes, peer)
      })
    }
    if (outcome instanceof Promise) this.track(outcome.then(deliver), peer)
    else deliver(outcome)
  }

  #onTcp(socket: Socket): void {
    const peer: Peer = {
      address: socket.remoteAddress ?? '?',
      port: socket.remotePort ?? 0,
      transport: 'tcp',
    }
    let buffered: Uint8Array = new Uint8Array(0)
    // Answers go out in the order the queries came, even when a fault delays one of them.
    let chain: Promise<void> = Promise.resolve()
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy())
    // A query begun must end within the idle time too: a trickled byte does not keep the connection.
    const deadline = messageDeadline(socket, TCP_IDLE_MS, () =>
      this.messageTimedOut(socket, peer, TCP_IDLE_MS),
    )
    socket.on('data', (data: Buffer) => {
      const joined = buffered.length === 0 ? data : Buffer.concat([buffered, data])
      const { frames, rest } = takeDnsFrames(joined)
      buffered = rest.length > 0 ? Uint8Array.from(rest) : new Uint8Array(0)
      deadline(buffered.length > 0)
      for (const frame of frames) {
        const copy = Uint8Array.from(frame)
        chain = chain.then(async () => {
          if (socket.destroyed) return
          const o = await this.#exchange(copy, peer, 'tcp')
          if (!this.listening || socket.destroyed) return
          this.#record(peer, o)
          if (o.action === 'send') socket.write(frameDns(o.bytes))
          else if (o.action === 'reset') socket.resetAndDestroy()
        })
        // One failed answer is journaled and the next query on the connection is still answered.
        chain = chain.catch((err: unknown) => this.failed(err, peer))
        this.track(chain, peer)
      }
    })
  }

  #record(peer: Peer, o: Outcome): void {
    this.record(o.kind, this.#event(peer, o))
  }

  /** The journal event of one exchange (its detail kept serialized when the answer came from the cache). */
  #event(peer: Peer, o: Outcome): EventWrite<Outcome['detail']> {
    return {
      summary: o.summary,
      detail: o.detail,
      peer,
      ...(o.action === 'send' && o.detailJson !== undefined ? { detailJson: o.detailJson } : {}),
    }
  }

  // ---------------------------------------------------------------------------------------------- answers

  /** One query in, one outcome out: synchronous unless a `delay` fault applies. */
  #exchange(msg: Uint8Array, peer: Peer, transport: Transport): Outcome | Promise<Outcome> {
    let query: DnsMessage
    try {
      query = decodeDns(msg)
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      return this.#malformed(msg, err, transport)
    }
    if (query.qr) {
      return {
        action: 'none',
        kind: 'dns:query',
        summary: `a response (id ${query.id}) sent to the server: ignored`,
        detail: { transport, ignored: 'qr' },
      }
    }
    const q = query.questions[0]
    const qname = q ? lower(q.name) : ''
    const qtype = q ? typeName(q.type) : '-'
    const base: Asked = { id: query.id, qname, qtype, transport }
    const problem = queryProblem(query)
    if (problem !== undefined || !q) {
      const rcode = problem ?? DnsRcode.FORMERR
      const bytes = encodeDns(
        responseTo(
          query,
          { rcode, aa: false, answers: [], authorities: [], additionals: [] },
          this.#config.block.udpSize,
        ),
      )
      return {
        action: 'send',
        kind: 'dns:query',
        bytes,
        summary: `${qname || '(no question)'} ${qtype} → ${rcodeName(rcode)}`,
        detail: { ...base, rcode: rcodeName(rcode), answers: [] },
      }
    }
    const device = this.deps.journal.devices.resolve(undefined, peer.address)
    const faults = this.deps.faults
    const applied = faults.idle
      ? undefined
      : faults.decide({
          server: 'dns',
          peer,
          ...(device ? { device } : {}),
          fields: { qname, qtype, transport },
        })
    const plan = this.plan(applied?.fault, transport)
    if (plan.hook === 'behaviour' && plan.delayMs > 0) {
      const ms = plan.delayMs
      return waitFor(ms).then(() =>
        this.#answer(query, msg, peer, device, transport, NO_FAULT, { ...base, fault: `delay ${ms} ms` }),
      )
    }
    return this.#answer(query, msg, peer, device, transport, plan, base)
  }

  #malformed(msg: Uint8Array, err: LabDecodeError, transport: Transport): Outcome {
    const id = peekDnsId(msg)
    const detail = { transport, bytes: msg.length, error: err.message }
    // Under 12 octets there is no header to answer; anything longer gets FORMERR with its id (RFC 1035 §4.1.1).
    if (id === undefined || msg.length < DNS_HEADER_LENGTH || (msg[2]! & 0x80) !== 0) {
      return {
        action: 'none',
        kind: 'dns:malformed',
        summary: `malformed message (${msg.length} octets) dropped: ${err.message}`,
        detail,
      }
    }
    const bytes = new Uint8Array(DNS_HEADER_LENGTH)
    bytes[0] = id >>> 8
    bytes[1] = id & 0xff
    bytes[2] = 0x80 | (msg[2]! & 0x78) // QR, the query's opcode
    bytes[3] = DnsRcode.FORMERR
    return {
      action: 'send',
      kind: 'dns:malformed',
      bytes,
      summary: `malformed message (${msg.length} octets) → FORMERR: ${err.message}`,
      detail: { ...detail, id, rcode: 'FORMERR' },
    }
  }

  #zoneFor(peer: Peer, device: DeviceRef | undefined): { index: number; zone: ZoneData } {
    for (const [index, v] of this.#views.entries()) {
      if (v.matches(peer, device)) return { index: index + 1, zone: v.zone }
    }
    return { index: 0, zone: this.#base }
  }

  #answer(
    query: DnsMessage,
    msg: Uint8Array,
    peer: Peer,
    device: DeviceRef | undefined,
    transport: Transport,
    plan: FaultPlan,
    base: Asked,
  ): Outcome {
    if (plan.hook !== 'behaviour') return faultInPlace(plan, base)
    const q = query.questions[0]!
    const limit = transport === 'udp' ? udpLimit(query, this.#config.block.udpSize) : 65535
    const { index, zone } =
      this.#views.length > 0 ? this.#zoneFor(peer, device) : { index: 0, zone: this.#base }
    const view = index > 0 ? { view: index } : {}
    if (plan.fault !== undefined)
      return this.#faultedAnswer(query, msg, zone, limit, plan, { ...base, ...view, fault: plan.fault.kind })
    const key = `${index}|${base.qname}|${q.type}|${q.class}|${query.edns ? 'e' : 'n'}${limit}`
    let cached = this.#cache.get(key)
    if (!cached) {
      cached = this.#encodeFresh(query, resolveDns(q, zone, this.#config.block), limit)
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear()
      this.#cache.set(key, cached)
    }
    const slot = (transport === 'udp' ? 0 : 1) + 2 * index
    return this.#sentCached(
      stampAnswer(cached.bytes, cached.questionEnd, query, msg),
      cached,
      base,
      slot,
      view,
    )
  }

  /** The zone's answer as a fault changes it: an error RCODE, records altered, TC set, octets changed. */
  #faultedAnswer(
    query: DnsMessage,
    msg: Uint8Array,
    zone: ZoneData,
    limit: number,
    plan: BehaviourPlan,
    asked: Asked & { readonly view?: number; readonly fault: string },
  ): Outcome {
    const q = query.questions[0]!
    const protocol = plan.protocol
    const answer: DnsAnswer =
      protocol?.kind === 'error'
        ? {
            rcode: (DnsRcode as Record<string, number>)[protocol.code] ?? DnsRcode.SERVFAIL,
            aa: true,
            answers: [],
            authorities: [],
            additionals: [],
          }
        : resolveDns(q, zone, this.#config.block)
    const changed =
      protocol?.kind === 'answer'
        ? { ...answer, answers: alterAnswers(answer.answers, protocol.set) }
        : answer
    const tc = protocol?.kind === 'answer' && protocol.set.tc === true
    const cached = this.#encodeFresh(query, changed, limit, tc)
    const bytes = plan.onEncoded(stampAnswer(cached.bytes, cached.questionEnd, query, msg))
    return this.#sent(
      bytes,
      cached,
      bytes.length === cached.bytes.length ? asked : { ...asked, sentBytes: bytes.length },
    )
  }

  #encodeFresh(query: DnsMessage, answer: DnsAnswer, limit: number, tc = false): Cached {
    const response = responseTo(
      { ...query, id: 0, rd: false, cd: false },
      answer,
      this.#config.block.udpSize,
      { tc },
    )
    const bytes = encodeDns(response, { maxSize: limit })
    const truncated = tc || (bytes[2]! & 0x02) !== 0
    const answers = truncated ? [] : answer.answers.map(recordText)
    const rcode = rcodeName(answer.rcode)
    const what = truncated
      ? 'TC (truncated; retry over TCP)'
      : answers.length > 0
        ? answers.join(', ')
        : rcode === 'NOERROR'
          ? 'NODATA'
          : ''
    return {
      bytes,
      questionEnd: questionEnd(bytes),
      rcode: answer.rcode,
      tc: truncated,
      answers,
      outcome: `→ ${rcode}${what ? ` ${what}` : ''}`,
      described: [],
    }
  }

  /** A cached answer sent: its summary and detail made once per transport and view, only the id new. */
  #sentCached(
    bytes: Uint8Array,
    c: Cached,
    base: Asked,
    slot: number,
    view: { readonly view?: number },
  ): Outcome {
    const detail = {
      ...base,
      ...view,
      rcode: rcodeName(c.rcode),
      answers: c.answers,
      tc: c.tc,
      bytes: bytes.length,
    }
    let d = c.described[slot]
    if (!d) {
      const { id: _id, ...rest } = detail
      d = { summary: this.#summary(detail, c), detailTail: JSON.stringify(rest).slice(1) }
      c.described[slot] = d
    }
    return {
      action: 'send',
      kind: 'dns:query',
      bytes,
      summary: d.summary,
      detail,
      detailJson: `{"id":${detail.id},${d.detailTail}`,
    }
  }

  #summary(asked: Asked, c: Cached): string {
    return `${asked.qname} ${asked.qtype} (${asked.transport}) ${c.outcome}`
  }

  #sent(bytes: Uint8Array, c: Cached, detail: Asked & Omit<DnsQueryDetail, keyof Asked>): Outcome {
    return {
      action: 'send',
      kind: 'dns:query',
      bytes,
      summary: this.#summary(detail, c),
      detail: { ...detail, rcode: rcodeName(c.rcode), answers: c.answers, tc: c.tc, bytes: bytes.length },
    }
  }
}

/** The answers a fault gives in place of the zone's: none (drop; reset on UDP), a reset, random octets. */
function faultInPlace(plan: Exclude<FaultPlan, BehaviourPlan>, base: Asked): Outcome {
  const asked = `${base.qname} ${base.qtype}`
  if (plan.hook === 'silence') {
    const why = plan.kind === 'drop' ? 'fault drop' : 'fault reset on UDP'
    return {
      action: 'none',
      kind: 'dns:query',
      summary: `${asked} → no answer (${why})`,
      detail: { ...base, fault: plan.kind },
    }
  }
  return plan.kind === 'reset'
    ? {
        action: 'reset',
        kind: 'dns:query',
        summary: `${asked} → connection reset (fault)`,
        detail: { ...base, fault: 'reset' },
      }
    : {
        action: 'send',
        kind: 'dns:query',
        bytes: plan.bytes,
        summary: `${asked} → ${plan.bytes.length} random bytes (fault)`,
        detail: { ...base, fault: 'garbage', bytes: plan.bytes.length },
      }
}
