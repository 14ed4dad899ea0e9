import { randomInt } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { LabDecodeError } from '../core/errors.js'
import {
  Opt,
  clientMessage,
  decodeDhcp,
  decodeSearchList,
  encodeDhcp,
  ipBytes,
  readIps,
  type DhcpMessage,
} from '../servers/dhcp/codec.js'
import type { PhoneNet } from './net.js'

/** What the phone keeps of a lease (spec §2.1). */
export interface Lease {
  readonly address: string
  /** Option 1, as a prefix length. */
  readonly prefix: number
  readonly dns: readonly string[]
  /** Option 15. */
  readonly domain: string
  /** Option 119, as the phone reads it. */
  readonly searchList: readonly string[]
  readonly wins: readonly string[]
  readonly server: string
  /** Option 51, seconds. */
  readonly leaseSeconds: number
  /** When to renew (option 58, else half the lease: RFC 2131 §4.4.5), seconds. */
  readonly renewSeconds: number
  /** When to rebind (option 59, else 7/8 of the lease), seconds. */
  readonly rebindSeconds: number
}

/**
 * Windows CE's parameter request list (spec §10.16 GUESS), with 119 as a requested code; not 43 or 120,
 * which only the later Aries phones use (§2.1).
 */
const PARAMETERS = Uint8Array.of(1, 3, 6, 15, 44, 46, 47, 31, 33, 119)

/**
 * Option 119 as the phone reads it (spec §2.1): the guide's `;`-separated ASCII string, and — a knob, since
 * whether the CX700 also reads RFC 3397 is unknown — the compressed wire format.
 */
export function readSearchList(b: Uint8Array | undefined, accept: 'ascii' | 'rfc3397' | 'both'): string[] {
  if (!b || b.length === 0) return []
  const text = Buffer.from(b).toString('latin1')
  const ascii = /^[\x21-\x7e;, ]+$/.test(text)
  if (ascii && accept !== 'rfc3397')
    return text
      .split(/[;,\s]+/)
      .map((s) => s.trim().replace(/\.$/, ''))
      .filter(Boolean)
  if (!ascii && accept !== 'ascii') {
    try {
      return decodeSearchList(b)
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
    }
  }
  return []
}

type Ask = (m: DhcpMessage, want: number) => Promise<DhcpMessage | undefined>

/** One DHCP client socket for the duration of `run`: on a real segment port 68 with broadcast. */
async function withClient<T>(
  net: PhoneNet,
  timeoutMs: number,
  to: { host: string; port: number } | undefined,
  run: (ask: Ask, xid: number) => Promise<T>,
): Promise<T> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  const loopback = net.loopback
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(loopback ? 0 : 68, loopback ? (net.localAddress ?? '127.0.0.1') : '0.0.0.0', () => {
      socket.off('error', reject)
      resolve()
    })
  })
  if (!loopback) socket.setBroadcast(true)
  const xid = randomInt(1, 0x7fffffff)
  const ask: Ask = (m, want) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.off('message', on)
        resolve(undefined)
      }, timeoutMs)
      const on = (b: Buffer): void => {
        try {
          const d = decodeDhcp(b)
          const type = d.options.get(Opt.messageType)?.[0]
          if (d.xid !== xid || d.op !== 2 || (type !== want && type !== 6)) return
          clearTimeout(timer)
          socket.off('message', on)
          resolve(d)
        } catch (err) {
          if (!(err instanceof LabDecodeError)) throw err
        }
      }
      socket.on('message', on)
      if (to) socket.send(encodeDhcp(m), to.port, to.host)
    })
  try {
    return await run(ask, xid)
  } finally {
    socket.close()
  }
}

/** The lease an ACK grants, read as the phone reads it. */
function leaseOf(ack: DhcpMessage, accept119: 'ascii' | 'rfc3397' | 'both', server: string): Lease {
  const domain = Buffer.from(ack.options.get(Opt.domainName) ?? new Uint8Array(0))
    .toString('latin1')
    .replace(/\0+$/, '')
  const mask = readIps(ack.options.get(Opt.subnetMask))[0] ?? '255.255.255.0'
  const seconds = (code: number): number | undefined => {
    const b = ack.options.get(code)
    return b?.length === 4 ? Buffer.from(b).readUInt32BE(0) : undefined
  }
  const leaseSeconds = seconds(Opt.leaseTime) ?? 86_400
  return {
    address: ack.yiaddr,
    prefix: mask.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0),
    dns: readIps(ack.options.get(Opt.dns)),
    domain,
    searchList: readSearchList(ack.options.get(Opt.domainSearch), accept119),
    wins: readIps(ack.options.get(Opt.wins)),
    server: readIps(ack.options.get(Opt.serverId))[0] ?? server,
    leaseSeconds,
    renewSeconds: seconds(Opt.renewalTime) ?? Math.floor(leaseSeconds / 2),
    rebindSeconds: seconds(Opt.rebindingTime) ?? Math.floor((leaseSeconds * 7) / 8),
  }
}

/**
 * DISCOVER → OFFER → REQUEST → ACK, each of the two sent up to `attempts` times. On a real segment: broadcast
 * from port 68 with the broadcast flag; in loopback mode the lab answers the sender (its relay-like mode).
 * Undefined when no offer or no ACK comes.
 */
export async function dhcpLease(
  net: PhoneNet,
  mac: string,
  options: {
    readonly accept119: 'ascii' | 'rfc3397' | 'both'
    readonly timeoutMs: number
    readonly attempts: number
  },
): Promise<Lease | undefined> {
  const flags = net.loopback ? 0 : 0x8000
  return withClient(net, options.timeoutMs, net.target('255.255.255.255', 67, 'udp'), async (ask, xid) => {
    const common: [number, Uint8Array][] = [[Opt.parameterList, PARAMETERS]]
    let offer: DhcpMessage | undefined
    for (let i = 0; i < options.attempts && !offer; i++)
      offer = await ask(clientMessage(1, mac, common, { xid, flags }), 2)
    if (!offer || offer.options.get(Opt.messageType)?.[0] !== 2) return undefined
    const serverId = offer.options.get(Opt.serverId) ?? new Uint8Array(4)
    const request = clientMessage(
      3,
      mac,
      [...common, [Opt.requestedAddress, ipBytes(offer.yiaddr)], [Opt.serverId, serverId]],
      { xid, flags },
    )
    // The REQUEST is retransmitted as the DISCOVER was (RFC 2131 §4.1): a datagram lost in a boot storm
    // costs a retransmission, not the boot.
    let ack: DhcpMessage | undefined
    for (let i = 0; i < options.attempts && !ack; i++) ack = await ask(request, 5)
    if (!ack || ack.options.get(Opt.messageType)?.[0] !== 5) return undefined
    return leaseOf(ack, options.accept119, readIps(serverId)[0] ?? '')
  })
}

/**
 * RENEWING and REBINDING (RFC 2131 §4.3.2, §4.4.5): at T1 a DHCPREQUEST with ciaddr, unicast to the server
 * that granted the lease; at T2 the same, broadcast to any server. The lease extended, or undefined (a NAK or
 * no answer: the phone keeps its address until T2, then until the lease ends).
 */
export async function renewLease(
  net: PhoneNet,
  mac: string,
  lease: Lease,
  options: {
    readonly accept119: 'ascii' | 'rfc3397' | 'both'
    readonly timeoutMs: number
    readonly rebinding?: boolean
  },
): Promise<Lease | undefined> {
  const broadcast = net.target('255.255.255.255', 67, 'udp')
  const to = options.rebinding ? broadcast : (net.target(lease.server, 67, 'udp') ?? broadcast)
  return withClient(net, options.timeoutMs, to, async (ask, xid) => {
    const ack = await ask(
      clientMessage(3, mac, [[Opt.parameterList, PARAMETERS]], { xid, ciaddr: lease.address }),
      5,
    )
    if (!ack || ack.options.get(Opt.messageType)?.[0] !== 5) return undefined
    return leaseOf(ack, options.accept119, lease.server)
  })
}
