import type { RemoteInfo, Socket } from 'node:dgram'
import { DeviceConfigs } from '../../core/device-configs.js'
import { LabDecodeError } from '../../core/errors.js'
import { waitFor } from '../../core/faults/apply.js'
import type { Peer } from '../../core/journal/journal.js'
import type { ListenRequest } from '../../core/server.js'
import type { ServerDeps } from '../contract.js'
import { UdpServer } from '../../core/udp-server.js'
import { answerNtp, type NtpOutcome, type NtpOverride } from './behaviour.js'
import { decodeNtp, encodeNtp, referenceIdText, unixMsFromNtpTimestamp, type NtpPacket } from './codec.js'
import type { NtpAnswerDetail, NtpEvents } from './events.js'
import type { NtpConfig } from './schema.js'

const hex = (b: Uint8Array, max = 64): string => Buffer.from(b.subarray(0, max)).toString('hex')

/** The NTP server: UDP I/O, the fault hook points, journal events; the answer itself is `answerNtp`. */
export class NtpServer extends UdpServer<NtpConfig, ServerDeps, NtpEvents> {
  readonly name = 'ntp'
  #config: NtpConfig
  readonly #devices = new DeviceConfigs<NtpConfig>((address) =>
    this.deps.journal.devices.resolve(undefined, address),
  )

  constructor(config: NtpConfig, listen: readonly ListenRequest[], deps: ServerDeps) {
    super(listen, deps)
    this.#config = config
  }

  configure(config: NtpConfig): void {
    this.#config = config
  }

  configureDevice(mac: string, config: NtpConfig | undefined): void {
    this.#devices.set(mac, config)
  }

  protected async onDatagram(socket: Socket, msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const receivedMs = this.deps.clock.now()
    const peer: Peer = { address: rinfo.address, port: rinfo.port, transport: 'udp' }
    const { faults, clock } = this.deps
    let request: NtpPacket
    try {
      request = decodeNtp(msg)
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      this.record('ntp:malformed', {
        summary: `malformed datagram (${msg.length} bytes) dropped: ${err.message}`,
        detail: { bytes: msg.length, error: err.message, hex: hex(msg) },
        peer,
      })
      this.warnLimited('malformed', { peer: `${peer.address}:${peer.port}` }, err.message)
      return
    }
    this.record('ntp:request', {
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
    const plan = this.plan(applied?.fault, 'udp', 48)
    if (plan.hook === 'silence') return
    if (plan.hook === 'connection') {
      if (plan.kind === 'garbage')
        this.sendJournaled(socket, plan.bytes, peer, 'ntp:response', {
          summary: `garbage: ${plan.bytes.length} random bytes`,
          detail: { bytes: plan.bytes.length, hex: hex(plan.bytes), fault: 'garbage' as const },
        })
      return
    }
    await waitFor(plan.delayMs)
    const override: NtpOverride =
      plan.protocol?.kind === 'error'
        ? { kiss: plan.protocol.code }
        : plan.protocol?.kind === 'answer'
          ? { set: plan.protocol.set }
          : {}
    const outcome = answerNtp(
      request,
      this.#devices.for(peer.address, this.#config),
      { receivedMs, transmitMs: clock.now() },
      override,
    )
    if (outcome.action === 'ignore') {
      this.record('ntp:ignored', {
        summary: `not answered: ${outcome.reason}`,
        detail: { reason: outcome.reason },
        peer,
      })
      return
    }
    const bytes = plan.onEncoded(encodeNtp(outcome.packet))
    this.sendJournaled(socket, bytes, peer, 'ntp:response', {
      summary: answerSummary(outcome, receivedMs),
      detail: answerDetail(outcome, bytes.length, plan.fault?.kind),
    })
  }
}

type Answered = Extract<NtpOutcome, { action: 'reply' }>

function answerSummary({ packet: p, kiss, offsetMs }: Answered, receivedMs: number): string {
  if (kiss !== undefined) return `Kiss-o'-Death ${kiss}`
  const served = unixMsFromNtpTimestamp(p.transmitTimestamp, receivedMs + offsetMs)
  const offset = offsetMs !== 0 ? ` (offset ${offsetMs / 1000} s)` : ''
  return `stratum ${p.stratum}, leap ${p.leap}, time ${new Date(served).toISOString()}${offset}`
}

function answerDetail(
  { packet: p, kiss, offsetMs }: Answered,
  bytes: number,
  fault: string | undefined,
): NtpAnswerDetail {
  return {
    version: p.version,
    stratum: p.stratum,
    leap: p.leap,
    referenceId: referenceIdText(p.referenceId),
    offsetMs,
    transmitTimestamp: p.transmitTimestamp.toString(16),
    originTimestamp: p.originTimestamp.toString(16),
    bytes,
    ...(kiss !== undefined ? { kiss } : {}),
    ...(fault ? { fault } : {}),
  }
}
