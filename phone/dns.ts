import { randomInt } from 'node:crypto'
import { LabDecodeError } from '../core/errors.js'
import { decodeDns, encodeDns, queryMessage, typeCode, type DnsRecord } from '../servers/dns/codec.js'
import type { PhoneNet } from './net.js'

export type Lookup = { readonly name: string; readonly records: readonly DnsRecord[] }

/**
 * The phone's resolver (spec §2.2): UDP to the DHCP-given DNS server, and the suffix rule — a name that
 * fails is retried with each DHCP suffix appended (option 15, then option 119 in order). Every query is a
 * real DNS message to the lab; `trace` records them in order.
 */
export class PhoneResolver {
  readonly trace: string[] = []
  constructor(
    readonly net: PhoneNet,
    readonly server: string,
    readonly suffixes: readonly string[],
    readonly timeoutMs = 1_500,
  ) {}

  /** One query; [] for NXDOMAIN, NODATA, no answer or a broken answer. */
  async query(name: string, type: 'A' | 'SRV'): Promise<DnsRecord[]> {
    this.trace.push(`${name} ${type}`)
    const to = this.net.target(this.server, 53, 'udp')
    if (!to) return []
    const id = randomInt(0, 0xffff)
    const bytes = encodeDns(queryMessage(name, typeCode(type)!, { id }))
    const answer = await this.net.udpAsk(
      to.host,
      to.port,
      bytes,
      (b) => b.length >= 2 && b.readUInt16BE(0) === id,
      this.timeoutMs,
    )
    if (!answer) return []
    try {
      let m = decodeDns(answer)
      // A truncated answer is asked again over TCP, as the Windows CE resolver does (spec §2.2, GUESS).
      if (m.tc) {
        const whole = await this.#overTcp(bytes)
        if (!whole) return []
        m = decodeDns(whole)
      }
      return m.answers.filter((r) => r.type === type || r.type === 'CNAME')
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      return []
    }
  }

  /** The same query over TCP (RFC 1035 §4.2.2: two octets of length first); the answer, or undefined. */
  async #overTcp(query: Uint8Array): Promise<Buffer | undefined> {
    const to = this.net.target(this.server, 53, 'tcp')
    if (!to) return undefined
    const socket = this.net.tcp(to.host, to.port)
    const length = Buffer.alloc(2)
    length.writeUInt16BE(query.length)
    socket.end(Buffer.concat([length, query]))
    return new Promise((resolve) => {
      let got = Buffer.alloc(0)
      const done = (answer: Buffer | undefined): void => {
        clearTimeout(timer)
        socket.destroy()
        resolve(answer)
      }
      const timer = setTimeout(() => done(undefined), this.timeoutMs)
      socket.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]).subarray(0, 65_537)
        if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0))
          done(got.subarray(2, 2 + got.readUInt16BE(0)))
      })
      socket.on('error', () => done(undefined))
      socket.on('close', () => done(undefined))
    })
  }

  /** The name as given, then with each suffix appended; the first that answers. */
  async withSuffixes(name: string, type: 'A' | 'SRV'): Promise<Lookup | undefined> {
    for (const candidate of [name, ...this.suffixes.map((s) => `${name}.${s}`)]) {
      const records = (await this.query(candidate, type)).filter((r) => r.type === type)
      if (records.length > 0) return { name: candidate, records }
    }
    return undefined
  }

  /** An address for a host name (suffix rule), or undefined. */
  async address(name: string): Promise<string | undefined> {
    const found = await this.withSuffixes(name, 'A')
    const a = found?.records.find((r) => r.type === 'A')
    return a?.type === 'A' ? a.address : undefined
  }

  /** SRV targets in RFC 2782 order (priority, then weight, heaviest first). */
  async srv(name: string): Promise<{ target: string; port: number }[]> {
    return srvOrder((await this.withSuffixes(name, 'SRV'))?.records ?? [])
  }
}

/** SRV records' targets in RFC 2782 order: lowest priority first, then the heaviest weight (not as returned). */
export function srvOrder(records: readonly DnsRecord[]): { target: string; port: number }[] {
  return records
    .flatMap((r) => (r.type === 'SRV' ? [r] : []))
    .sort((a, b) => a.priority - b.priority || b.weight - a.weight)
    .map((r) => ({ target: r.target.replace(/\.$/, ''), port: r.port }))
}
