import { createSocket } from 'node:dgram'
import {
  clientRequest as ntpClientRequest,
  decodeNtp,
  encodeNtp,
  ntpTimestampFromUnixMs,
  type NtpPacket,
} from '../../servers/ntp/codec.js'

/** A client-mode request whose transmit timestamp identifies it. */
export function clientRequest(version = 4, transmitMs = Date.now()): NtpPacket {
  return ntpClientRequest(version, ntpTimestampFromUnixMs(transmitMs))
}

/** A UDP client socket for the lab's NTP port; `next()` resolves with the next datagram that arrives. */
export async function ntpClient(port: number, address = '127.0.0.1') {
  const socket = createSocket('udp4')
  const queue: Buffer[] = []
  const waiters: ((b: Buffer) => void)[] = []
  socket.on('message', (msg) => {
    const w = waiters.shift()
    if (w) w(msg)
    else queue.push(msg)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  return {
    send(bytes: Uint8Array | NtpPacket): void {
      socket.send(bytes instanceof Uint8Array ? bytes : encodeNtp(bytes), port, address)
    },
    next(): Promise<Buffer> {
      const b = queue.shift()
      return b ? Promise.resolve(b) : new Promise((resolve) => waiters.push(resolve))
    },
    async ask(request: NtpPacket = clientRequest()): Promise<NtpPacket> {
      this.send(request)
      return decodeNtp(await this.next())
    },
    async [Symbol.asyncDispose](): Promise<void> {
      await new Promise<void>((resolve) => socket.close(() => resolve()))
    },
  }
}
