import { connect as tcpConnect, type Socket } from 'node:net'

export interface HttpAnswer {
  readonly status: number
  readonly headers: ReadonlyMap<string, readonly string[]>
  readonly body: Buffer
}

/**
 * HTTP/1.1 on one connection, as the phone's stack speaks it: a request, then the answer read by its
 * Content-Length; the connection stays open for the next request (NTLM is per connection).
 */
export class PhoneHttp {
  #buffer = Buffer.alloc(0)
  #waiting: (() => void) | undefined
  #closed = false

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, d])
      this.#waiting?.()
    })
    socket.on('close', () => {
      this.#closed = true
      this.#waiting?.()
    })
    socket.on('error', () => undefined)
  }

  /** A connection to `host`:`port`, from `localAddress` when given (the phone's own on loopback). */
  static async open(
    host: string,
    port: number,
    timeoutMs: number,
    localAddress?: string,
  ): Promise<PhoneHttp | string> {
    const socket = tcpConnect({ host, port, ...(localAddress ? { localAddress } : {}) })
    const up = await new Promise<true | string>((resolve) => {
      const timer = setTimeout(() => resolve('timed out'), timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve(true)
      })
      socket.once('error', (err) => {
        clearTimeout(timer)
        resolve(err.message)
      })
    })
    if (up !== true) {
      socket.destroy()
      return up
    }
    return new PhoneHttp(socket)
  }

  async request(
    method: string,
    path: string,
    host: string,
    headers: Readonly<Record<string, string>> = {},
    body = '',
    timeoutMs = 10_000,
  ): Promise<HttpAnswer | undefined> {
    const lines = [
      `${method} ${path} HTTP/1.1`,
      `Host: ${host}`,
      'User-Agent: OCPhone/3.5.6907.35 (Microsoft Office Communicator 2007 R2 Phone Edition)',
      'Connection: keep-alive',
    ]
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
    if (body !== '' || method === 'POST') lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`)
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end >= 0) {
        const head = this.#buffer.subarray(0, end).toString('latin1').split('\r\n')
        const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0)
        const map = new Map<string, string[]>()
        for (const l of head.slice(1)) {
          const i = l.indexOf(':')
          if (i <= 0) continue
          const k = l.slice(0, i).trim().toLowerCase()
          map.set(k, [...(map.get(k) ?? []), l.slice(i + 1).trim()])
        }
        const length = Number(map.get('content-length')?.[0] ?? 0)
        if (this.#buffer.length >= end + 4 + length) {
          const answer = {
            status,
            headers: map,
            body: Buffer.from(this.#buffer.subarray(end + 4, end + 4 + length)),
          }
          this.#buffer = this.#buffer.subarray(end + 4 + length)
          return answer
        }
      }
      if (this.#closed || Date.now() > deadline) return undefined
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.#waiting = () => {
          clearTimeout(timer)
          this.#waiting = undefined
          resolve()
        }
      })
    }
  }

  get closed(): boolean {
    return this.#closed || this.socket.destroyed
  }

  close(): void {
    this.socket.destroy()
  }
}
