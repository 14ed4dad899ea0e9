import { createSocket } from 'node:dgram'
import { connect } from 'node:net'
import {
  decodeDns,
  encodeDns,
  frameDns,
  queryMessage,
  takeDnsFrames,
  type DnsMessage,
} from '../../servers/dns/codec.js'

let nextId = 1

/** A query with an id of its own (see queryMessage). */
export function dnsQuery(
  name: string,
  type: number,
  options: { edns?: number; id?: number } = {},
): DnsMessage {
  return queryMessage(name, type, {
    id: options.id ?? nextId++ & 0xffff,
    ...(options.edns !== undefined ? { edns: options.edns } : {}),
  })
}

/** Sends raw bytes over UDP and resolves with the raw answer, or undefined after `timeoutMs`. */
export async function udpExchange(
  port: number,
  bytes: Uint8Array,
  timeoutMs = 2_000,
  address = '127.0.0.1',
): Promise<Buffer | undefined> {
  const socket = createSocket('udp4')
  try {
    return await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs)
      socket.once('message', (msg) => {
        clearTimeout(timer)
        resolve(msg)
      })
      socket.send(bytes, port, address)
    })
  } finally {
    socket.close()
  }
}

/** Asks one question over UDP and decodes the answer. */
export async function askUdp(
  port: number,
  query: DnsMessage,
  timeoutMs?: number,
): Promise<DnsMessage | undefined> {
  const raw = await udpExchange(port, encodeDns(query), timeoutMs)
  return raw ? decodeDns(raw) : undefined
}

/** Sends raw bytes on one TCP connection and collects every framed answer until `count` arrived or the peer closed. */
export async function tcpExchange(
  port: number,
  stream: Uint8Array[],
  count: number,
  timeoutMs = 3_000,
): Promise<Uint8Array[]> {
  const socket = connect({ port, host: '127.0.0.1' })
  const answers: Uint8Array[] = []
  let buffered = new Uint8Array(0)
  try {
    return await new Promise<Uint8Array[]>((resolve) => {
      const timer = setTimeout(() => resolve(answers), timeoutMs)
      const done = (): void => {
        clearTimeout(timer)
        resolve(answers)
      }
      socket.on('error', done)
      socket.on('close', done)
      socket.on('data', (d: Buffer) => {
        const { frames, rest } = takeDnsFrames(Buffer.concat([buffered, d]))
        buffered = Uint8Array.from(rest)
        answers.push(...frames.map((f) => Uint8Array.from(f)))
        if (answers.length >= count) done()
      })
      socket.once('connect', () => {
        for (const chunk of stream) socket.write(chunk)
      })
    })
  } finally {
    socket.destroy()
  }
}

/** Asks questions over one TCP connection (pipelined) and decodes the answers. */
export async function askTcp(port: number, queries: DnsMessage[]): Promise<DnsMessage[]> {
  const answers = await tcpExchange(
    port,
    [Buffer.concat(queries.map((q) => frameDns(encodeDns(q))))],
    queries.length,
  )
  return answers.map(decodeDns)
}
