import type { RemoteInfo, Socket } from 'node:dgram'
import { setTimeout as sleep } from 'node:timers/promises'
import { LabDecodeError, LabError } from '../../lab/errors.js'
import { corruptBytes, garbageBytes } from '../../lab/faults/bytes.js'
import type { Peer } from '../../lab/journal/journal.js'
import { bindUdp, closeUdp } from '../../lab/net/udp.js'
import type { BoundPort, LabDeps, LabServer, ListenRequest, ReadyState } from '../../lab/server.js'
import { answerNtp, type NtpOverride } from './behaviour.js'
import { decodeNtp, encodeNtp, referenceIdText, unixMsFromNtpTimestamp, type NtpPacket } from './codec.js'
import type { NtpConfig } from './schema.js'

const hex = (b: Uint8Array, max = 64): string => Buffer.from(b.subarray(0, max)).toString('hex')

/** The NTP server: UDP I/O, the fault hook points, journal events; the answer itself is `answerNtp`. */
export class NtpServer implements LabServer<NtpConfig> {
  readonly name = 'ntp'
  #state: ReadyState = 'idle'
  #config: NtpConfig
  readonly #listen: readonly ListenRequest[]
  readonly #deps: LabDeps
  #sockets: { socket: Socket; bound: BoundPort }[] = []
  readonly #pending = new Set<Promise<void>>()

  constructor(config: NtpConfig, listen: readonly ListenRequest[], deps: LabDeps) {
    this.#config = config
    this.#listen = listen
    this.#deps = deps
  }

  get state(): ReadyState {
    return this.#state
  }

  configure(config: NtpConfig): void {
    this.#config = config
  }

  async start(): Promise<readonly BoundPort[]> {
    if (this.#state !== 'idle') {
      throw new LabError(
        'LAB_ERR_SERVER_ALREADY_STARTED',
        `Failed to start ntp: it is ${this.#state}. Create a new server.`,
      )
    }
    this.#state = 'starting'
    try {
      for (const req of this.#listen) {
        const socket = await bindUdp(
          'ntp',
          req.address,
          req.port,
          (msg, rinfo) => this.#track(this.#onMessage(socket, msg, rinfo)),
          (err) => this.#deps.logger.warn({ err: err.message }, 'socket error'),
        )
        const addr = socket.address()
        this.#sockets.push({
          socket,
          bound: { ...req, server: 'ntp', address: addr.address, port: addr.port },
        })
      }
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
        `Failed to list ntp ports: the server is ${this.#state}.`,
      )
    }
    return this.#sockets.map((s) => s.bound)
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopping'
    const sockets = this.#sockets
    this.#sockets = []
    await Promise.all(sockets.map((s) => closeUdp(s.socket)))
    await Promise.allSettled([...this.#pending])
    this.#state = 'stopped'
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p)
    void p.finally(() => this.#pending.delete(p))
  }

  async #onMessage(socket: Socket, msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const receivedMs = this.#deps.clock.now()
    const peer: Peer = { address: rinfo.address, port: rinfo.port, transport: 'udp' }
    const { journal, faults, logger, random, clock } = this.#deps
    try {
      let request: NtpPacket
      try {
        request = decodeNtp(msg)
      } catch (err) {
        if (!(err instanceof LabDecodeError)) throw err
        journal.record({
          server: 'ntp',
          kind: 'ntp:malformed',
          summary: `malformed datagram (${msg.length} bytes) dropped: ${err.message}`,
          detail: { bytes: msg.length, error: err.message, hex: hex(msg) },
          peer,
        })
        logger.warn({ peer: `${peer.address}:${peer.port}` }, err.message)
        return
      }
      journal.record({
        server: 'ntp',
        kind: 'ntp:request',
        summary: `NTPv${request.version} mode ${request.mode} request`,
        detail: {
          version: request.version,
          mode: request.mode,
          transmitTimestamp: request.transmitTimestamp.toString(16),
          bytes: msg.length,
        },
        peer,
      })
      const applied = faults.decide({
        server: 'ntp',
        peer,
        fields: { version: request.version, mode: request.mode },
      })
      const fault = applied?.fault
      let override: NtpOverride = {}
      if (fault) {
        switch (fault.kind) {
          case 'drop':
            return
          case 'delay':
            await sleep(fault.ms + (fault.jitterMs ? Math.floor(random() * fault.jitterMs) : 0))
            break
          case 'error':
            override = { kiss: fault.code }
            break
          case 'answer':
            override = { set: fault.set }
            break
          case 'garbage': {
            const bytes = garbageBytes(fault.bytes ?? 48, random)
            this.#send(socket, bytes, peer, {
              kind: 'ntp:response',
              summary: `garbage: ${bytes.length} random bytes`,
              detail: { bytes: bytes.length, hex: hex(bytes), fault: 'garbage' },
            })
            return
          }
          case 'corrupt':
          case 'truncate':
          case 'reset':
            break // applied to the encoded answer below (reset is refused for UDP when the rule is added)
        }
      }
      const outcome = answerNtp(request, this.#config, { receivedMs, transmitMs: clock.now() }, override)
      if (outcome.action === 'ignore') {
        journal.record({
          server: 'ntp',
          kind: 'ntp:ignored',
          summary: `not answered: ${outcome.reason}`,
          detail: { reason: outcome.reason },
          peer,
        })
        return
      }
      let bytes = encodeNtp(outcome.packet)
      if (fault?.kind === 'corrupt') bytes = corruptBytes(bytes, fault.bytes ?? 1, random)
      if (fault?.kind === 'truncate') bytes = bytes.slice(0, fault.bytes)
      const p = outcome.packet
      const served = unixMsFromNtpTimestamp(p.transmitTimestamp, receivedMs + outcome.offsetMs)
      this.#send(socket, bytes, peer, {
        kind: 'ntp:response',
        summary:
          outcome.kiss !== undefined
            ? `Kiss-o'-Death ${outcome.kiss}`
            : `stratum ${p.stratum}, leap ${p.leap}, time ${new Date(served).toISOString()}${outcome.offsetMs !== 0 ? ` (offset ${outcome.offsetMs / 1000} s)` : ''}`,
        detail: {
          version: p.version,
          stratum: p.stratum,
          leap: p.leap,
          referenceId: referenceIdText(p.referenceId),
          offsetMs: outcome.offsetMs,
          transmitTimestamp: p.transmitTimestamp.toString(16),
          originTimestamp: p.originTimestamp.toString(16),
          bytes: bytes.length,
          ...(outcome.kiss !== undefined ? { kiss: outcome.kiss } : {}),
          ...(fault ? { fault: fault.kind } : {}),
        },
      })
    } catch (err) {
      // A bug of ours must not take the lab down either: journal it and keep serving.
      logger.error({ err: (err as Error).message }, 'request failed')
      journal.record({
        server: 'ntp',
        kind: 'ntp:failed',
        summary: `internal error: ${(err as Error).message}`,
        detail: {},
        peer,
      })
    }
  }

  /** Journals the answer, then sends it: an answer a client saw is always in the journal. */
  #send(
    socket: Socket,
    bytes: Uint8Array,
    peer: Peer,
    event: { kind: string; summary: string; detail: Record<string, unknown> },
  ): void {
    if (this.#state !== 'listening') return
    this.#deps.journal.record({ server: 'ntp', ...event, peer })
    socket.send(bytes, peer.port, peer.address, (err) => {
      if (err) this.#deps.logger.warn({ err: err.message }, 'send failed')
    })
  }
}
