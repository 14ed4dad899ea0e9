import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram'
import type { Socket } from 'node:net'
import type { Endpoint } from './capture/frames.js'
import type { ConnectionTap } from './capture/store.js'
import { tapSocket } from './capture/tap.js'
import type { DeviceRef } from './journal/devices.js'
import { LabError } from './errors.js'
import { bindTcp, type TcpListener } from './net/tcp.js'
import { bindUdp } from './net/udp.js'
import { UdpPump, type DatagramSocket } from './net/udp-pumps.js'
import { NO_FAULT, planFault, type FaultPlan } from './faults/apply.js'
import type { Fault } from './faults/types.js'
import {
  eventInput,
  type EventMap,
  type EventWrite,
  type FailedDetail,
  type RefusedDetail,
  type TimeoutDetail,
} from './journal/events.js'
import type { JournalEvent, Peer } from './journal/journal.js'
import type { BoundPort, LabDeps, LabServer, ReadyState } from './server.js'

/** At most this many warnings of one kind per window reach the lab's output. */
const WARN_BURST = 5
const WARN_WINDOW_MS = 10_000

/**
 * The life cycle every protocol server shares: idle → starting → listening → stopping → stopped; all
 * sockets bound or none (a failed bind closes what was bound); stop waits for the work in flight; a bug
 * while handling a request is journaled as `<server>:failed` and never takes the lab down. A server adds
 * its sockets (`bind`/`unbind`) and its protocol.
 */
export abstract class ServerBase<C, D extends LabDeps, E extends EventMap<E>> implements LabServer<C> {
  abstract readonly name: string
  protected readonly deps: D
  #state: ReadyState = 'idle'
  #bound: readonly BoundPort[] = []
  readonly #pending = new Set<Promise<unknown>>()

  protected constructor(deps: D) {
    this.deps = deps
  }

  get state(): ReadyState {
    return this.#state
  }

  /** True while answers may still be sent. */
  protected get listening(): boolean {
    return this.#state === 'listening'
  }

  abstract configure(config: C): void | Promise<void>

  /** Binds every socket; on failure, closes what it bound before throwing (LAB_ERR_SERVER_BIND). */
  protected abstract bind(): Promise<readonly BoundPort[]>
  /** Closes every socket and connection. */
  protected abstract unbind(): Promise<void>
  /** Runs once the sockets are closed and the work in flight has settled. */
  protected closed(): void {}

  async start(): Promise<readonly BoundPort[]> {
    if (this.#state !== 'idle') {
      throw new LabError(
        'LAB_ERR_SERVER_ALREADY_STARTED',
        `Failed to start ${this.name}: it is ${this.#state}. Create a new server.`,
      )
    }
    this.#state = 'starting'
    try {
      this.#bound = await this.bind()
    } catch (err) {
      await this.stop()
      throw err
    }
    this.#state = 'listening'
    return this.ports()
  }

  ports(): readonly BoundPort[] {
    if (this.#state !== 'listening') {
      throw new LabError(
        'LAB_ERR_SERVER_NOT_LISTENING',
        `Failed to list ${this.name} ports: the server is ${this.#state}.`,
      )
    }
    return this.#bound
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopping'
    this.#bound = []
    await this.unbind()
    await Promise.allSettled([...this.#pending])
    this.closed()
    this.#state = 'stopped'
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  /** Keeps work in flight (a delayed answer) so that stop waits for it; a rejection is journaled. */
  protected track(work: Promise<unknown>, peer?: Peer): void {
    const guarded = work.catch((err: unknown) => this.failed(err, peer))
    this.#pending.add(guarded)
    void guarded.finally(() => this.#pending.delete(guarded))
  }

  readonly #warnings = new Map<string, { windowStart: number; count: number; suppressed: number }>()

  /**
   * A warning for the lab's output, at most WARN_BURST per WARN_WINDOW_MS for one kind (malformed input from
   * a fuzzer must not flood the log); what was held back is counted in the next one let through. The journal
   * still records every event.
   */
  protected warnLimited(kind: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now()
    let w = this.#warnings.get(kind)
    if (!w || now - w.windowStart >= WARN_WINDOW_MS) {
      const suppressed = w?.suppressed ?? 0
      w = { windowStart: now, count: 0, suppressed: 0 }
      this.#warnings.set(kind, w)
      if (suppressed > 0) fields = { ...fields, suppressed }
    }
    if (w.count++ < WARN_BURST) this.deps.logger.warn(fields, message)
    else w.suppressed++
  }

  readonly #refusals = new Map<string, { windowStart: number; count: number }>()

  /**
   * Journals a connection refused for a limit: the first from a peer in each WARN_WINDOW_MS, then one event
   * counting the rest (a flood of refusals must not flood the journal either).
   */
  protected connectionRefused(peer: { address: string; port: number }, why: string): void {
    this.#refuse('connection-refused', 'connection', { ...peer, transport: 'tcp' }, why)
  }

  /** Journals a datagram refused because of where it came from, rate-limited like connectionRefused. */
  protected peerRefused(peer: Peer, why: string): void {
    this.#refuse('refused', 'datagram', peer, why)
  }

  #refuse(kind: string, what: string, peer: Peer, why: string): void {
    const now = Date.now()
    const r = this.#refusals.get(peer.address)
    if (r && now - r.windowStart < WARN_WINDOW_MS) {
      r.count++
      return
    }
    const earlier = r?.count ?? 0
    if (this.#refusals.size > 1_000) this.#refusals.clear()
    this.#refusals.set(peer.address, { windowStart: now, count: 0 })
    const detail: RefusedDetail = { why, earlier }
    this.deps.journal.record(
      eventInput(this.name, `${this.name}:${kind}`, {
        summary: `${what} from ${peer.address} refused: ${why}${earlier > 0 ? ` (and ${earlier} more before)` : ''}`,
        detail,
        peer,
      }),
    )
  }

  /** Closes a connection whose message began and did not end in time, and journals it. */
  protected messageTimedOut(socket: { destroy(): void }, peer: Peer, ms: number): void {
    const detail: TimeoutDetail = { timeoutMs: ms }
    this.deps.journal.record(
      eventInput(this.name, `${this.name}:timeout`, {
        summary: `connection closed: a message did not end within ${ms} ms`,
        detail,
        peer,
      }),
    )
    socket.destroy()
  }

  /**
   * Binds a UDP socket for this server: a socket error is logged, never thrown, and every datagram is
   * captured (the device's capture, `cx700-lab capture`) before it is handled.
   */
  protected async listenUdp(
    address: string,
    port: number,
    onMessage: (socket: UdpSocket, msg: Buffer, rinfo: RemoteInfo) => void,
    options: {
      /** Let another socket bind the same port on a specific address (the DHCP broadcast sender). */
      readonly reuseAddr?: boolean
      /** Share the port with UDP pump threads (`pumpUdp`). */
      readonly reusePort?: boolean
      /** Who sent a datagram when its source address cannot tell (DHCP's chaddr). */
      readonly deviceOf?: (msg: Buffer) => DeviceRef | undefined
    } = {},
  ): Promise<UdpSocket> {
    let local: Endpoint = { address, port }
    const socket: UdpSocket = await bindUdp(
      this.name,
      address,
      port,
      (msg, rinfo) => {
        this.deps.capture.datagram(this.name, 'in', local, rinfo, msg, options.deviceOf?.(msg))
        onMessage(socket, msg, rinfo)
      },
      (err) => this.deps.logger.warn({ err: err.message }, 'socket error'),
      options.reuseAddr === true,
      options.reusePort === true,
    )
    local = socket.address()
    return socket
  }

  /**
   * Starts a UDP pump thread on a port this server listens on with `reusePort` (udp-pumps.ts): its datagrams
   * reach `onMessage` here, captured as `listenUdp`'s are, and answers sent through it go out from its thread.
   */
  protected pumpUdp(
    address: string,
    port: number,
    onMessage: (socket: UdpPump, msg: Buffer, rinfo: RemoteInfo) => void,
  ): Promise<UdpPump> {
    const local: Endpoint = { address, port }
    return UdpPump.start(
      this.name,
      address,
      port,
      (socket, msg, rinfo) => {
        this.deps.capture.datagram(this.name, 'in', local, rinfo, msg)
        onMessage(socket, msg, rinfo)
      },
      (err) => this.deps.logger.warn({ err: err.message }, 'socket error'),
    )
  }

  /** Sends a datagram (an answer already journaled) and captures it; a send error reaches the socket's listener. */
  protected sendDatagram(
    socket: DatagramSocket,
    bytes: Uint8Array,
    to: Endpoint,
    options: { readonly from?: Endpoint; readonly device?: DeviceRef } = {},
  ): void {
    // The socket's own address (a system call) only when the datagram is kept.
    if (this.deps.capture.wants(to.address, options.device))
      this.deps.capture.datagram(
        this.name,
        'out',
        options.from ?? socket.address(),
        to,
        bytes,
        options.device,
      )
    socket.send(bytes, to.port, to.address)
  }

  /**
   * Listens on TCP for this server: connections over the limits are refused and journaled, and every
   * accepted one is captured (what the peer sent, what the lab wrote, how it ended) before it is handled.
   */
  protected listenTcp(
    address: string,
    port: number,
    onConnection: (socket: Socket) => void,
  ): Promise<TcpListener> {
    return bindTcp(
      this.name,
      address,
      port,
      (socket) => {
        this.captureConnection(socket)
        onConnection(socket)
      },
      { onRefused: (peer, why) => this.connectionRefused(peer, why) },
    )
  }

  readonly #taps = new WeakMap<object, ConnectionTap>()

  /** Starts capturing an accepted TCP socket (listenTcp does it; HTTP does it for its own listeners). */
  protected captureConnection(socket: Socket): ConnectionTap {
    const tap = this.deps.capture.connection(
      this.name,
      { address: socket.localAddress ?? '0.0.0.0', port: socket.localPort ?? 0 },
      { address: socket.remoteAddress ?? '0.0.0.0', port: socket.remotePort ?? 0 },
    )
    tapSocket(socket, tap)
    this.#taps.set(socket, tap)
    return tap
  }

  /** The capture of a connection (its TCP socket, or what the server set up over it: see tapFor). */
  protected tapOf(socket: object): ConnectionTap | undefined {
    return this.#taps.get(socket)
  }

  /** Files a stream made over a captured socket (a TLS socket, a duplex) under the same capture. */
  protected tapFor(stream: object, socket: object): void {
    const tap = this.#taps.get(socket)
    if (tap) this.#taps.set(stream, tap)
  }

  /** Where a fault takes effect for this server (the one fault path, core/faults/apply.ts), seeded. */
  protected plan(fault: Fault | undefined, transport: 'udp' | 'tcp', garbageLength = 64): FaultPlan {
    return fault === undefined
      ? NO_FAULT
      : planFault(fault, { transport, random: this.deps.random, garbageLength })
  }

  /**
   * Journals one of this server's events, its kind and detail checked against the server's event map (its
   * `events.ts`); written to the file before this returns.
   */
  protected record<K extends keyof E & string>(kind: K, event: EventWrite<E[K]>): JournalEvent {
    return this.deps.journal.record(eventInput(this.name, kind, event))
  }

  /** Journals one of this server's events with the others of this turn, then calls `then` (group commit). */
  protected recordThen<K extends keyof E & string>(kind: K, event: EventWrite<E[K]>, then: () => void): void {
    this.deps.journal.recordThen(eventInput(this.name, kind, event), then)
  }

  /** A bug of ours must not take the lab down either: journal it and keep serving. */
  protected failed(err: unknown, peer?: Peer): void {
    const message = err instanceof Error ? err.message : String(err)
    this.deps.logger.error({ err: message }, 'request failed')
    const detail: FailedDetail = { error: message }
    this.deps.journal.record(
      eventInput(this.name, `${this.name}:failed`, {
        summary: `internal error: ${message}`,
        detail,
        ...(peer ? { peer } : {}),
      }),
    )
  }
}
