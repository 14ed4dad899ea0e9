import { createSocket } from 'node:dgram'

/** A socket the lab serves, as `/endpoints` lists it. */
export interface LabEndpoint {
  readonly name: string
  readonly server: string
  readonly transport: 'udp' | 'tcp'
  readonly standardPort: number
  readonly address: string
  readonly port: number
}

/**
 * How the emulated phone reaches an address and a standard port. On a real segment (a network namespace)
 * it goes where the phone would. In loopback mode every lab service is on 127.0.0.1 on a port of its own,
 * so the port map is the one thing the emulator reads from the lab — names, records and answers all come
 * through the protocols, as on the phone.
 */
export class PhoneNet {
  readonly #map: readonly LabEndpoint[] | undefined
  readonly #served: ReadonlySet<string> | undefined
  /**
   * `served`: the addresses the lab stands for (its own and its hosts', from /endpoints). Given, an address
   * outside them reaches nothing, as a decommissioned server's address reaches nothing on a real site;
   * absent, every address reaches the lab.
   */
  constructor(map?: readonly LabEndpoint[], served?: readonly string[]) {
    this.#map = map
    this.#served = served && new Set(served)
  }

  get loopback(): boolean {
    return this.#map !== undefined
  }

  /** Where to send to reach `address`:`port` (undefined: nothing listens there in loopback mode). */
  target(
    address: string,
    port: number,
    transport: 'udp' | 'tcp',
  ): { host: string; port: number } | undefined {
    if (!this.#map) return { host: address, port }
    if (this.#served && address !== '255.255.255.255' && !this.#served.has(address)) return undefined
    // A URL the lab handed out already carries its real port; a standard port is mapped.
    const e =
      this.#map.find((x) => x.port === port && x.transport === transport) ??
      this.#map.find((x) => x.standardPort === port && x.transport === transport)
    return e ? { host: e.address === '0.0.0.0' ? '127.0.0.1' : e.address, port: e.port } : undefined
  }
}

/** Sends one datagram and resolves with the first answer `accept` takes, or undefined after `timeoutMs`. */
export async function udpAsk(
  host: string,
  port: number,
  bytes: Uint8Array,
  accept: (answer: Buffer) => boolean,
  timeoutMs: number,
): Promise<Buffer | undefined> {
  const socket = createSocket('udp4')
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs)
      socket.on('message', (msg) => {
        if (!accept(msg)) return
        clearTimeout(timer)
        resolve(msg)
      })
      socket.on('error', () => {
        clearTimeout(timer)
        resolve(undefined)
      })
      socket.send(bytes, port, host)
    })
  } finally {
    socket.close()
  }
}
