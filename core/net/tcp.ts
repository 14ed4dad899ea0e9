import { createServer, type Server, type Socket } from 'node:net'
import { bindError } from './udp.js'

/** A listening TCP server and the connections it holds, so that stop can destroy lingering ones. */
export interface TcpListener {
  readonly server: Server
  readonly connections: Set<Socket>
}

/** How many connections a listener holds, in all and from one peer address, and who hears of a refusal. */
export interface ConnectionLimits {
  /** At most this many at once (default 8,192). */
  readonly maxConnections?: number
  /**
   * At most this many from one address (default 256), as AD, IIS and OCS limit a client: one peer that
   * opens thousands of slow connections is refused, and everyone else is still served.
   */
  readonly perPeer?: number
  /** Told of each refused connection (the server journals it). */
  readonly onRefused?: (peer: { address: string; port: number }, why: string) => void
}

/**
 * Listens on a TCP port and resolves once bound; rejects with LAB_ERR_SERVER_BIND naming the port. A
 * connection's errors (a peer reset) are swallowed after `onConnection` has had the socket: a peer must
 * never take the lab down. Connections over the limits are refused (destroyed) and reported.
 */
export function bindTcp(
  name: string,
  address: string,
  port: number,
  onConnection: (socket: Socket) => void,
  limits: ConnectionLimits = {},
): Promise<TcpListener> {
  const maxConnections = limits.maxConnections ?? 8_192
  const perPeer = limits.perPeer ?? 256
  return new Promise((resolve, reject) => {
    const connections = new Set<Socket>()
    const byPeer = new Map<string, number>()
    const server = createServer({ noDelay: true }, (socket) => {
      socket.on('error', () => socket.destroy())
      const peer = socket.remoteAddress ?? '?'
      const held = byPeer.get(peer) ?? 0
      const why =
        connections.size >= maxConnections
          ? `the listener holds ${maxConnections} connections, its limit`
          : held >= perPeer
            ? `${peer} holds ${held} connections, the limit for one address`
            : undefined
      if (why !== undefined) {
        socket.destroy()
        limits.onRefused?.({ address: peer, port: socket.remotePort ?? 0 }, why)
        return
      }
      connections.add(socket)
      byPeer.set(peer, held + 1)
      socket.once('close', () => {
        connections.delete(socket)
        const left = (byPeer.get(peer) ?? 1) - 1
        if (left > 0) byPeer.set(peer, left)
        else byPeer.delete(peer)
      })
      onConnection(socket)
    })
    const failBind = (err: Error): void => {
      server.close()
      reject(bindError(name, 'tcp', address, port, err))
    }
    server.once('error', failBind)
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', failBind)
      server.on('error', () => undefined)
      resolve({ server, connections })
    })
  })
}

/** Stops listening and destroys every connection still open; resolves when the server has closed. */
export function closeTcp(listener: TcpListener): Promise<void> {
  return new Promise((resolve) => {
    for (const s of listener.connections) s.destroy()
    listener.server.close(() => resolve())
  })
}

/** A TCP port free on 127.0.0.1 right now (for a peer process that must be told its port: bench, sipp). */
export async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

/**
 * A deadline for a message that has begun and not ended, as AD bounds it (InitRecvTimeout, 120 s) and
 * http.sys (HeaderWait): the returned function arms it while bytes of an incomplete message wait
 * (`pending` true) and clears it when none do. It starts armed: a connection's first message must end in
 * time too. A peer that trickles a byte every few seconds cannot hold a connection for long.
 */
export function messageDeadline(
  socket: Socket,
  ms: number,
  onExpired: () => void,
): (pending: boolean) => void {
  let timer: NodeJS.Timeout | undefined
  const set = (pending: boolean): void => {
    if (!pending) {
      if (timer) clearTimeout(timer)
      timer = undefined
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = undefined
        if (!socket.destroyed) onExpired()
      }, ms)
      timer.unref()
    }
  }
  socket.once('close', () => set(false))
  set(true)
  return set
}
