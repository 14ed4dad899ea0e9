import type { RemoteInfo, Socket } from 'node:dgram'
import { setTimeout as sleep } from 'node:timers/promises'
import { LabDecodeError } from '../../core/errors.js'
import { corruptBytes, garbageBytes } from '../../core/faults/bytes.js'
import type { Peer } from '../../core/journal/journal.js'
import { bindUdp, closeUdp } from '../../core/net/udp.js'
import type { BoundPort, ListenRequest } from '../../core/server.js'
import type { ServerDeps } from '../contract.js'
import { ServerBase } from '../../core/server-base.js'
import { answerNtp, type NtpOverride } from './behaviour.js'
import { decodeNtp, encodeNtp, referenceIdText, unixMsFromNtpTimestamp, type NtpPacket } from './codec.js'
import type { NtpConfig } from './schema.js'

const hex = (b: Uint8Array, max = 64): string => Buffer.from(b.subarray(0, max)).toString('hex')

/** The NTP server: UDP I/O, the fault hook points, journal events; the answer itself is `answerNtp`. */
export class NtpServer extends ServerBase<NtpConfig, ServerDeps> {
  readonly name = 'ntp'
  #config: NtpConfig
  readonly #listen: readonly ListenRequest[]
  #sockets: Socket[] = []

  constructor(config: NtpConfig, listen: readonly ListenRequest[], deps: ServerDeps) {
    super(deps)
    this.#config = config
    this.#listen = listen
  }

  configure(config: NtpConfig): void {
    this.#config = config
  }

  protected async bind(): Promise<readonly BoundPort[]> {
    const bound: BoundPort[] = []
    for (const req of this.#listen) {
      const socket = await bindUdp(
        'ntp',
        req.address,
        req.port,
        (msg, rinfo) => this.track(this.#onMessage(socket, msg, rinfo)),
        (err) => this.deps.logger.warn({ err: err.message }, 'socket error'),
      )
      this.#sockets.push(socket)
      const addr = socket.address()
      bound.push({ ...req, server: 'ntp', address: addr.address, port: addr.port })
    }
    return bound
  }

  protected async unbind(): Promise<void> {
    const sockets = this.#sockets
    this.#sockets = []
    await Promise.all(sockets.map((s) => closeUdp(s)))
  }

  async #onMessage(socket: Socket, msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const receivedMs = this.deps.clock.now()
    const peer: Peer = { address: rinfo.address, port: rinfo.port, transport: 'udp' }
    const { journal, faults, logger, random, clock } = this.deps
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
  }

  /** Journals the answer, then sends it: an answer a client saw is always in the journal. */
  #send(
    socket: Socket,
    bytes: Uint8Array,
    peer: Peer,
    event: { kind: string; summary: string; detail: Record<string, unknown> },
  ): void {
    if (!this.listening) return
    this.deps.journal.record({ server: 'ntp', ...event, peer })
    socket.send(bytes, peer.port, peer.address, (err) => {
      if (err) this.deps.logger.warn({ err: err.message }, 'send failed')
    })
  }
}
