import { createSocket } from 'node:dgram'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'

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
  /** The phone's own address its sockets are bound to (loopback: one of 127.0.0.0/8 per phone). */
  readonly localAddress: string | undefined
  /**
   * `served`: the addresses the lab stands for (its own and its hosts', from /endpoints). Given, an address
   * outside them reaches nothing, as a decommissioned server's address reaches nothing on a real site;
   * absent, every address reaches the lab.
   */
  constructor(map?: readonly LabEndpoint[], served?: readonly string[], localAddress?: string) {
    this.#map = map
    this.#served = served && new Set(served)
    this.localAddress = localAddress
  }

  /**
   * The network as one phone sees it: in loopback mode its sockets talk from an address of its own in
   * 127.0.0.0/8 (loopbackAddressOf), so the lab's journal, dashboard and captures keep emulated phones apart;
   * on a real segment, as it is.
   */
  forDevice(mac: string): PhoneNet {
    if (!this.#map || this.localAddress !== undefined) return this
    return new PhoneNet(this.#map, this.#served && [...this.#served], loopbackAddressOf(mac))
  }

  /** One datagram and its answer, from the phone's own address. */
  udpAsk(
    host: string,
    port: number,
    bytes: Uint8Array,
    accept: (answer: Buffer) => boolean,
    timeoutMs: number,
  ): Promise<Buffer | undefined> {
    return udpAsk(host, port, bytes, accept, timeoutMs, this.localAddress)
  }

  /** A TCP connection from the phone's own address. */
  tcp(host: string, port: number): Socket {
    return netConnect({ host, port, ...(this.localAddress ? { localAddress: this.localAddress } : {}) })
  }

  /** A TLS connection from the phone's own address. */
  tls(options: ConnectionOptions & { host: string; port: number }): TLSSocket {
    return tlsConnect({ ...options, ...(this.localAddress ? { localAddress: this.localAddress } : {}) })
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
  /** The address to send from (the phone's own on loopback); any when undefined. */
  from?: string,
): Promise<Buffer | undefined> {
  const socket = createSocket('udp4')
  try {
    if (from !== undefined) await new Promise<void>((resolve) => socket.bind(0, from, resolve))
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

/**
 * An emulated phone's own loopback address, from its MAC: 127.<64 + (octet 4 & 63)>.<octet 5>.<octet 6>, never
 * 127.0.0.1 (the lab's). Linux routes all of 127.0.0.0/8 to the loopback interface, so no setup is needed.
 */
export function loopbackAddressOf(mac: string): string {
  const hex = mac
    .replace(/[^0-9a-fA-F]/g, '')
    .padStart(12, '0')
    .slice(-12)
  const o = (i: number): number => parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return `127.${64 + (o(3) & 63)}.${o(4)}.${o(5)}`
}
