import { createSocket, type Socket } from 'node:dgram'
import {
  clientMessage,
  decodeDhcp,
  encodeDhcp,
  Opt,
  ipBytes,
  type DhcpMessage,
} from '../../servers/dhcp/codec.js'

let nextXid = 0x5000

/** A client message with the given type and options, and an xid of its own. */
export function dhcpMessage(
  type: number,
  mac: string,
  options: [number, Uint8Array][] = [],
  over: Partial<DhcpMessage> = {},
): DhcpMessage {
  return clientMessage(type, mac, options, { xid: nextXid++, ...over })
}

/** A UDP socket that sends DHCP messages to the lab and waits for the answer with the same xid. */
export interface DhcpTestClient extends AsyncDisposable {
  readonly socket: Socket
  ask(m: DhcpMessage, timeoutMs?: number): Promise<DhcpMessage | undefined>
  /** DISCOVER → OFFER → REQUEST → ACK; resolves with the ACK (or NAK). */
  dora(mac: string, extra?: Partial<DhcpMessage>): Promise<{ offer: DhcpMessage; ack: DhcpMessage }>
}

export async function dhcpClient(
  port: number,
  bindAddress = '127.0.0.1',
  bindPort = 0,
  server = '127.0.0.1',
): Promise<DhcpTestClient> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  await new Promise<void>((r) => socket.bind(bindPort, bindAddress, () => r()))
  const ask = (m: DhcpMessage, timeoutMs = 2_000): Promise<DhcpMessage | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.off('message', on)
        resolve(undefined)
      }, timeoutMs)
      const on = (b: Buffer): void => {
        try {
          const d = decodeDhcp(b)
          if (d.xid !== m.xid) return
          clearTimeout(timer)
          socket.off('message', on)
          resolve(d)
        } catch {
          // not for us
        }
      }
      socket.on('message', on)
      socket.send(encodeDhcp(m), port, server)
    })
  return {
    socket,
    ask,
    async dora(mac, extra = {}) {
      const offer = await ask(dhcpMessage(1, mac, [], extra))
      if (!offer) throw new Error(`no OFFER for ${mac}`)
      const ack = await ask(
        dhcpMessage(
          3,
          mac,
          [
            [Opt.requestedAddress, ipBytes(offer.yiaddr)],
            [Opt.serverId, offer.options.get(Opt.serverId)!],
          ],
          extra,
        ),
      )
      if (!ack) throw new Error(`no ACK for ${mac}`)
      return { offer, ack }
    },
    async [Symbol.asyncDispose]() {
      await new Promise<void>((r) => socket.close(() => r()))
    },
  }
}
