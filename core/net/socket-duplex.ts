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
  // Node limits a client's renegotiations (tls.CLIENT_RENEG_LIMIT in CLIENT_RENEG_WINDOW) on every server
  // TLS socket, but a socket made outside a tls.Server keeps the refusal to itself until control is
  // released, as tls.Server does once the handshake is done: without this a client could renegotiate
  // without end (the second reliability probe: 297 times on one SIP connection). The refusal then reaches
  // the socket's 'error' listeners as ERR_TLS_SESSION_ATTACK (see isRenegotiationRefused).
  secure.once('secure', () => (secure as unknown as { _releaseControl?: () => boolean })._releaseControl?.())
  return secure
}

/** Whether a TLS socket's error is Node refusing one renegotiation too many (the socket is then to close). */
export function isRenegotiationRefused(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_TLS_SESSION_ATTACK'
}
