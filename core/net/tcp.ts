import { createServer, type Server, type Socket } from 'node:net'
import { bindError } from './udp.js'

/** A listening TCP server and the connections it holds, so that stop can destroy lingering ones. */
export interface TcpListener {
  readonly server: Server
  readonly connections: Set<Socket>
}

/**
 * Listens on a TCP port and resolves once bound; rejects with LAB_ERR_SERVER_BIND naming the port. A
 * connection's errors (a peer reset) are swallowed after `onConnection` has had the socket: a peer must
 * never take the lab down. At most `maxConnections` are held at once; more are refused.
 */
export function bindTcp(
  name: string,
  address: string,
  port: number,
  onConnection: (socket: Socket) => void,
  maxConnections = 1024,
): Promise<TcpListener> {
  return new Promise((resolve, reject) => {
    const connections = new Set<Socket>()
    const server = createServer({ noDelay: true }, (socket) => {
      socket.on('error', () => socket.destroy())
      if (connections.size >= maxConnections) {
        socket.destroy()
        return
      }
      connections.add(socket)
      socket.once('close', () => connections.delete(socket))
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
