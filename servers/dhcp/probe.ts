import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { setTimeout as sleep } from 'node:timers/promises'
import { closeUdp } from '../../core/net/udp.js'
import { DhcpMessageType, clientMessage, decodeDhcp, encodeDhcp } from './codec.js'

/**
 * Looks for DHCP servers on a segment: broadcasts a DISCOVER (from a random locally administered MAC, with
 * the broadcast flag) to `broadcast`:`serverPort` from `serverPort + 1`, and collects the OFFERs that answer
 * it for `waitMs`. Servers that ping an address before offering it (dnsmasq) answer after about 3 s.
 * Needs the client port (68 outside loopback): root or CAP_NET_BIND_SERVICE.
 */
export async function probeDhcpServers(
  broadcast: string,
  serverPort: number,
  waitMs: number,
): Promise<string[]> {
  const probe = createSocket({ type: 'udp4', reuseAddr: true })
  const xid = randomBytes(4).readUInt32BE(0)
  const mac = ['02', ...Array.from(randomBytes(5), (b) => b.toString(16).padStart(2, '0'))].join(':')
  const offers: string[] = []
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject)
      probe.bind(serverPort + 1, '0.0.0.0', () => resolve())
    })
    probe.setBroadcast(true)
    probe.on('message', (msg, rinfo) => {
      try {
        const m = decodeDhcp(msg)
        if (m.op === 2 && m.xid === xid) offers.push(`${rinfo.address} (offered ${m.yiaddr})`)
      } catch {
        // not an answer to us
      }
    })
    probe.send(
      encodeDhcp(clientMessage(DhcpMessageType.DISCOVER, mac, [], { xid, flags: 0x8000 })),
      serverPort,
      broadcast,
    )
    await sleep(waitMs)
  } finally {
    await closeUdp(probe)
  }
  return offers
}
