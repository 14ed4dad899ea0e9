import type { RemoteInfo, Socket } from 'node:dgram'
import type { EventMap, EventWrite } from './journal/events.js'
import type { Peer } from './journal/journal.js'
import { closeUdp } from './net/udp.js'
import type { BoundPort, LabDeps, ListenRequest } from './server.js'
import { ServerBase } from './server-base.js'

/**
 * A server that answers datagrams on one UDP socket per listen request (NTP, the WINS double): binding,
 * closing, and an answer journaled before it is sent — an answer a client saw is always in the journal.
 */
export abstract class UdpServer<C, D extends LabDeps, E extends EventMap<E>> extends ServerBase<C, D, E> {
  readonly #listen: readonly ListenRequest[]
  #sockets: Socket[] = []

  protected constructor(listen: readonly ListenRequest[], deps: D) {
    super(deps)
    this.#listen = listen
  }

  /** Handles one datagram (tracked: a bug is journaled as `<server>:failed`, never thrown). */
  protected abstract onDatagram(socket: Socket, msg: Buffer, rinfo: RemoteInfo): Promise<void>

  protected async bind(): Promise<readonly BoundPort[]> {
    const bound: BoundPort[] = []
    for (const req of this.#listen) {
      const socket = await this.listenUdp(req.address, req.port, (s, msg, rinfo) =>
        this.track(this.onDatagram(s, msg, rinfo)),
      )
      this.#sockets.push(socket)
      const addr = socket.address()
      bound.push({ ...req, server: this.name, address: addr.address, port: addr.port })
    }
    return bound
  }

  protected async unbind(): Promise<void> {
    const sockets = this.#sockets
    this.#sockets = []
    await Promise.all(sockets.map((s) => closeUdp(s)))
  }

  /** Journals the answer, then sends it. */
  protected sendJournaled<K extends keyof E & string>(
    socket: Socket,
    bytes: Uint8Array,
    peer: Peer,
    kind: K,
    event: Omit<EventWrite<E[K]>, 'peer'>,
  ): void {
    if (!this.listening) return
    this.record(kind, { ...event, peer })
    this.sendDatagram(socket, bytes, peer)
  }
}
