import type { Socket } from 'node:net'
import type { ConnectionTap } from './store.js'

type Write = Socket['write']
type End = Socket['end']

function octets(chunk: unknown, encoding: unknown): Uint8Array | undefined {
  if (chunk instanceof Uint8Array) return chunk
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  return undefined
}

/**
 * Records what crosses an accepted TCP socket: what the peer sends (a 'data' listener ahead of the
 * server's), what the lab writes (its `write` and `end`), and how the connection ends. Node has no event for
 * octets written, so the socket's own write and end are wrapped — on this one socket, nowhere else. A socket
 * whose handle is read natively (HTTP, native TLS) shows nothing here: read it through a SocketDuplex.
 */
export function tapSocket(socket: Socket, tap: ConnectionTap): void {
  socket.prependListener('data', (d: Buffer) => tap.data('in', d))
  socket.once('end', () => tap.fin('in'))
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET') tap.reset('in')
  })
  const write: Write = socket.write.bind(socket)
  const end: End = socket.end.bind(socket)
  const resetAndDestroy = socket.resetAndDestroy.bind(socket)
  socket.write = (chunk: unknown, encoding?: unknown, cb?: unknown) => {
    const bytes = octets(chunk, encoding)
    if (bytes && !socket.destroyed) tap.data('out', bytes)
    return (write as (...a: unknown[]) => boolean)(chunk, encoding, cb)
  }
  socket.end = (chunk?: unknown, encoding?: unknown, cb?: unknown) => {
    const bytes = typeof chunk === 'function' ? undefined : octets(chunk, encoding)
    if (!socket.destroyed) {
      if (bytes) tap.data('out', bytes)
      tap.fin('out')
    }
    return (end as (...a: unknown[]) => Socket)(chunk, encoding, cb)
  }
  socket.resetAndDestroy = () => {
    tap.reset('out')
    return resetAndDestroy()
  }
  // A socket destroyed without end() still sends its FIN (a tap ignores a second one).
  socket.once('close', () => tap.fin('out'))
}
