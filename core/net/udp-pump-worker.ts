/*
 * One UDP pump thread (see udp-pumps.ts): a socket on the server's port beside the main thread's
 * (SO_REUSEPORT: the kernel spreads the peers among the sockets), handing what it receives to the main thread
 * in batches and sending what the main thread hands back. It decides nothing and journals nothing: the answers
 * and the one journal stay on the main thread. It loads Node's built-ins only, so that it runs as it is (from
 * dist, or from source where Node strips the types).
 */
import { createSocket } from 'node:dgram'
import { parentPort, workerData } from 'node:worker_threads'
// A type only: erased from what runs, so the thread still loads nothing of the lab.
import type { Batch } from './udp-pumps.js'

interface PumpData {
  readonly address: string
  readonly port: number
  readonly recvBufferSize: number
}

const port = parentPort!
const data = workerData as PumpData
const socket = createSocket({
  type: 'udp4',
  reusePort: true,
  recvBufferSize: data.recvBufferSize,
  // Peers are addresses: no lookup deferred to the next tick (as core/net/udp.ts).
  lookup: (hostname, _options, callback) => callback(null, hostname, 4),
})

let pieces: Buffer[] = []
let addresses: string[] = []
let ports: number[] = []
let scheduled = false

/** What arrived in this turn of the loop, as one message to the main thread. */
function post(): void {
  scheduled = false
  const bytes = Buffer.concat(pieces)
  const batch: Batch = {
    kind: 'in',
    bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
    lengths: pieces.map((p) => p.length),
    addresses,
    ports,
  }
  pieces = []
  addresses = []
  ports = []
  port.postMessage(batch, [batch.bytes])
}

socket.on('message', (msg, rinfo) => {
  pieces.push(msg)
  addresses.push(rinfo.address)
  ports.push(rinfo.port)
  if (!scheduled) {
    scheduled = true
    setImmediate(post)
  }
})
socket.on('error', (err: NodeJS.ErrnoException) =>
  port.postMessage({
    kind: 'error',
    message: err.message,
    ...(err.code !== undefined ? { code: err.code } : {}),
  }),
)

port.on('message', (m: Batch | { readonly kind: 'close' }) => {
  if (m.kind === 'close') {
    socket.close(() => port.close())
    return
  }
  if (m.kind !== 'out') return
  let at = 0
  for (let i = 0; i < m.lengths.length; i++) {
    const length = m.lengths[i]!
    socket.send(new Uint8Array(m.bytes, at, length), m.ports[i], m.addresses[i])
    at += length
  }
})

socket.bind(data.port, data.address, () => port.postMessage({ kind: 'ready' }))
