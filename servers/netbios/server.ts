import type { RemoteInfo, Socket } from 'node:dgram'
import { LabDecodeError } from '../../core/errors.js'
import { waitFor } from '../../core/faults/apply.js'
import type { Peer } from '../../core/journal/journal.js'
import type { ListenRequest } from '../../core/server.js'
import { UdpServer } from '../../core/udp-server.js'
import type { ServerDeps } from '../contract.js'
import { OPCODE_NAMES, RCODE_NAMES, answerNbns, type NameOwner, type Registrations } from './behaviour.js'
import { NbType, decodeNb, decodeNbAddresses, encodeNb, nameText, type NbPacket } from './codec.js'
import type { NetbiosEvents } from './events.js'
import type { NetbiosBlock } from './schema.js'

/** The WINS double's slice of a scenario: its block, and the names the domain holds. */
export interface NetbiosSlice {
  readonly block: NetbiosBlock
  readonly names: readonly NameOwner[]
}

const hex = (b: Uint8Array, max = 64): string => Buffer.from(b.subarray(0, max)).toString('hex')

/** The addresses a positive answer carries, for the journal. */
function answered(p: NbPacket): string[] {
  const r = p.answers[0]
  if (!r || r.type !== NbType.NB || p.rcode !== 0) return []
  return decodeNbAddresses(r.data).map((o) => o.address)
}

/** The WINS server: UDP I/O, the fault hook points, journal events; the answer itself is `answerNbns`. */
export class NetbiosServer extends UdpServer<NetbiosSlice, ServerDeps, NetbiosEvents> {
  readonly name = 'netbios'
  #slice: NetbiosSlice
  readonly #registrations: Registrations

  constructor(
    slice: NetbiosSlice,
    listen: readonly ListenRequest[],
    deps: ServerDeps,
    registrations: Registrations,
  ) {
    super(listen, deps)
    this.#slice = slice
    this.#registrations = registrations
  }

  configure(slice: NetbiosSlice): void {
    this.#slice = slice
  }

  protected async onDatagram(socket: Socket, msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const peer: Peer = { address: rinfo.address, port: rinfo.port, transport: 'udp' }
    const { faults, clock } = this.deps
    let request: NbPacket
    try {
      request = decodeNb(msg)
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      this.record('netbios:malformed', {
        summary: `malformed datagram (${msg.length} bytes) dropped: ${err.message}`,
        detail: { bytes: msg.length, error: err.message, hex: hex(msg) },
        peer,
      })
      this.warnLimited('malformed', { peer: `${peer.address}:${peer.port}` }, err.message)
      return
    }
    const named = request.questions[0]?.name ?? request.additional[0]?.name
    const name = named ? nameText(named) : '(no name)'
    const opcode = OPCODE_NAMES[request.opcode] ?? String(request.opcode)
    this.record('netbios:request', {
      summary: `${opcode} ${name}${request.flags.broadcast ? ' (broadcast)' : ''}`,
      detail: { id: request.id, opcode, name, broadcast: request.flags.broadcast, bytes: msg.length },
      peer,
    })
    const applied = faults.decide({ server: 'netbios', peer, fields: { name, opcode } })
    const plan = this.plan(applied?.fault, 'udp', 50)
    if (plan.hook === 'silence') return
    if (plan.hook === 'connection') {
      if (plan.kind === 'garbage')
        this.sendJournaled(socket, plan.bytes, peer, 'netbios:response', {
          summary: `garbage: ${plan.bytes.length} random bytes`,
          detail: { bytes: plan.bytes.length, hex: hex(plan.bytes), fault: 'garbage' as const },
        })
      return
    }
    await waitFor(plan.delayMs)
    const rcode = plan.protocol?.kind === 'error' ? plan.protocol.code : undefined
    const outcome = answerNbns(
      request,
      { ...this.#slice, registrations: this.#registrations, nowMs: clock.now() },
      rinfo.address,
      rcode,
    )
    if (outcome.action === 'ignore') {
      this.record('netbios:ignored', {
        summary: `not answered: ${outcome.reason}`,
        detail: { reason: outcome.reason, name },
        peer,
      })
      return
    }
    const bytes = plan.onEncoded(encodeNb(outcome.packet))
    this.sendJournaled(socket, bytes, peer, 'netbios:response', {
      summary: outcome.summary,
      detail: {
        id: request.id,
        opcode,
        name,
        rcode: RCODE_NAMES[outcome.packet.rcode] ?? String(outcome.packet.rcode),
        addresses: answered(outcome.packet),
        bytes: bytes.length,
        ...(plan.fault ? { fault: plan.fault.kind } : {}),
      },
    })
  }
}
