import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { TLSSocket, type TLSSocketOptions } from 'node:tls'

/**
 * A JS duplex over an accepted TCP socket, for what would otherwise read the socket's handle natively and
 * skip JS: TLS after the lab has read the ClientHello itself (those octets are pushed first), and HTTP whose
 * octets the capture must see. It answers to what HTTP and TLS ask of a socket (its addresses, timeouts).
 */
export class SocketDuplex extends Duplex {
  readonly socket: Socket

  constructor(socket: Socket, head?: Uint8Array) {
    super({
      read: () => {
        socket.resume()
      },
      write: (chunk: Buffer, _encoding, cb) => {
        // What TLS says after the peer has gone (its close_notify) cannot be delivered: dropped, not made an
        // error with a stack trace for every connection that ends that way.
        if (!socket.writable) cb()
        else socket.write(chunk, cb)
      },
      final: (cb) => {
        socket.end()
        cb()
      },
      destroy: (err, cb) => {
        socket.destroy()
        cb(err)
      },
    })
    this.socket = socket
    if (head && head.length > 0) this.push(head)
    socket.on('data', (d: Buffer) => {
      if (!this.push(d)) socket.pause()
    })
    socket.once('end', () => this.push(null))
    socket.once('close', () => this.destroy())
    socket.on('timeout', () => this.emit('timeout'))
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress
  }
  get localPort(): number | undefined {
    return this.socket.localPort
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms)
    if (cb) this.once('timeout', cb)
    return this
  }
  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay)
    return this
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay)
    return this
  }
}

/**
 * A server-side TLS socket over an accepted TCP socket through JS (see SocketDuplex), with the peer's and
 * the listener's addresses as the TCP socket has them (a TLS socket over JS would report none).
 */
export function secureOver(
  socket: Socket,
  head: Uint8Array | undefined,
  options: TLSSocketOptions,
): TLSSocket {
  const secure = new TLSSocket(new SocketDuplex(socket, head), { ...options, isServer: true })
  for (const name of ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort'] as const)
    Object.defineProperty(secure, name, { get: () => socket[name], configurable: true })
  return secure
}
