import type { RemoteInfo } from 'node:dgram'
import { Worker } from 'node:worker_threads'
import { bindError, UDP_RECEIVE_BUFFER } from './udp.js'

/** What an answer is sent through: a UDP socket, or a pump thread's socket (the same port). */
export interface DatagramSocket {
  send(msg: Uint8Array, port: number, address: string): void
  address(): { readonly address: string; readonly port: number }
}

/** Datagrams one after another in one buffer, with their lengths and peers: what crosses, both ways. */
export interface Batch {
  readonly kind: 'in' | 'out'
  readonly bytes: ArrayBuffer
  readonly lengths: readonly number[]
  readonly addresses: readonly string[]
  readonly ports: readonly number[]
}
type FromPump =
  | Batch
  | { readonly kind: 'ready' }
  | { readonly kind: 'error'; readonly message: string; readonly code?: string }

/** The thread's error as the socket's would be, its code kept (EADDRINUSE names the port in use). */
function threadError(m: { readonly message: string; readonly code?: string }): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(m.message)
  if (m.code !== undefined) err.code = m.code
  return err
}

/** Node 24 runs the source's TypeScript as it is (types stripped); dist has the compiled file. */
const WORKER = new URL(
  import.meta.url.endsWith('.ts') ? './udp-pump-worker.ts' : './udp-pump-worker.js',
  import.meta.url,
)

/**
 * A thread with a UDP socket on a port the main thread also listens on (both with SO_REUSEPORT; the kernel
 * gives each peer's datagrams to one of the sockets): it receives and sends, the main thread decides and
 * journals. Datagrams cross between the threads in batches, one message per turn of either loop, so the
 * system calls — most of a busy UDP server's time — run beside the main thread rather than on it, and an
 * answer still goes out only when the main thread hands it over (after its journal line is written).
 */
export class UdpPump implements DatagramSocket {
  readonly #worker: Worker
  readonly #local: { readonly address: string; readonly port: number }
  #out: Uint8Array[] = []
  #addresses: string[] = []
  #ports: number[] = []
  #scheduled = false
  #closed = false

  private constructor(worker: Worker, local: { address: string; port: number }) {
    this.#worker = worker
    this.#local = local
  }

  /**
   * Starts a pump on `address:port` (already bound by the main thread with reusePort) and resolves once its
   * socket listens; rejects with LAB_ERR_SERVER_BIND. Received datagrams go to `onMessage` on the main thread.
   */
  static start(
    server: string,
    address: string,
    port: number,
    onMessage: (socket: UdpPump, msg: Buffer, rinfo: RemoteInfo) => void,
    onError: (err: Error) => void,
  ): Promise<UdpPump> {
    const worker = new Worker(WORKER, { workerData: { address, port, recvBufferSize: UDP_RECEIVE_BUFFER } })
    const pump = new UdpPump(worker, { address, port })
    return new Promise((resolve, reject) => {
      let ready = false
      worker.on('message', (m: FromPump) => {
        if (m.kind === 'ready') {
          ready = true
          resolve(pump)
        } else if (m.kind === 'error') {
          if (ready) onError(threadError(m))
          else {
            void worker.terminate()
            reject(bindError(server, 'udp', address, port, threadError(m)))
          }
        } else if (m.kind === 'in') pump.#received(m, onMessage)
      })
      worker.on('error', (err) =>
        ready ? onError(err) : reject(bindError(server, 'udp', address, port, err)),
      )
      worker.on('exit', (code) => {
        if (!pump.#closed) onError(new Error(`a UDP pump thread of ${server} ended (exit code ${code})`))
        if (!ready)
          reject(bindError(server, 'udp', address, port, new Error(`the pump thread ended (${code})`)))
      })
    })
  }

  #received(batch: Batch, onMessage: (socket: UdpPump, msg: Buffer, rinfo: RemoteInfo) => void): void {
    let at = 0
    for (let i = 0; i < batch.lengths.length; i++) {
      const size = batch.lengths[i]!
      const msg = Buffer.from(batch.bytes, at, size)
      at += size
      const rinfo: RemoteInfo = { address: batch.addresses[i]!, port: batch.ports[i]!, family: 'IPv4', size }
      onMessage(this, msg, rinfo)
    }
  }

  /** Queues an answer; the answers of one turn go to the thread together. */
  send(msg: Uint8Array, port: number, address: string): void {
    if (this.#closed) return
    this.#out.push(msg)
    this.#addresses.push(address)
    this.#ports.push(port)
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.#flush())
    }
  }

  #flush(): void {
    this.#scheduled = false
    if (this.#closed || this.#out.length === 0) return
    const bytes = Buffer.concat(this.#out)
    const batch: Batch = {
      kind: 'out',
      bytes: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
      lengths: this.#out.map((m) => m.length),
      addresses: this.#addresses,
      ports: this.#ports,
    }
    this.#out = []
    this.#addresses = []
    this.#ports = []
    this.#worker.postMessage(batch, [batch.bytes])
  }

  address(): { readonly address: string; readonly port: number } {
    return this.#local
  }

  /** Sends what is queued, closes the thread's socket and ends the thread. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#flush()
    this.#closed = true
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()))
    this.#worker.postMessage({ kind: 'close' })
    // A thread that does not end by itself (its socket stuck) is ended.
    const stuck = setTimeout(() => void this.#worker.terminate(), 2_000)
    await exited
    clearTimeout(stuck)
  }
}
