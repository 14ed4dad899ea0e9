import { createSocket, type Socket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { Opt, decodeDhcp, encodeDhcp, ipBytes, type DhcpMessage } from '../servers/dhcp/codec.js'
import { dhcpLease } from './dhcp.js'
import { PhoneNet } from './net.js'

/**
 * A stand-in DHCP server on loopback that answers from the codec alone and loses the first `lose[type]`
 * datagrams of a message type, as a server's full receive buffer does in a boot storm.
 */
async function lossyServer(
  lose: Readonly<Record<number, number>>,
): Promise<{ socket: Socket; seen: DhcpMessage[] } & AsyncDisposable> {
  const socket = createSocket('udp4')
  const seen: DhcpMessage[] = []
  const lost = new Map<number, number>()
  socket.on('message', (b, rinfo) => {
    const m = decodeDhcp(b)
    seen.push(m)
    const type = m.options.get(Opt.messageType)![0]!
    if ((lost.get(type) ?? 0) < (lose[type] ?? 0)) return void lost.set(type, (lost.get(type) ?? 0) + 1)
    const answer = type === 1 ? 2 : 5
    const reply: DhcpMessage = {
      ...m,
      op: 2,
      yiaddr: '10.50.0.100',
      options: new Map([
        [Opt.messageType, Uint8Array.of(answer)],
        [Opt.serverId, ipBytes('10.50.0.1')],
        [Opt.subnetMask, ipBytes('255.255.255.0')],
      ]),
    }
    socket.send(encodeDhcp(reply), rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return { socket, seen, [Symbol.asyncDispose]: () => new Promise<void>((r) => socket.close(() => r())) }
}

function netTo(port: number): PhoneNet {
  const endpoint = { name: 'dhcp', server: 'dhcp', transport: 'udp' as const, standardPort: 67 }
  return new PhoneNet([{ ...endpoint, address: '127.0.0.1', port }])
}

describe('the phone’s DHCP client', () => {
  it('retransmits a lost DISCOVER and a lost REQUEST with the same xid, and gets its lease', async () => {
    await using server = await lossyServer({ 1: 1, 3: 1 })
    const net = netTo(server.socket.address().port)
    const lease = await dhcpLease(net, '00:04:f2:00:00:01', {
      accept119: 'both',
      timeoutMs: 200,
      attempts: 2,
    })
    expect(lease?.address).toBe('10.50.0.100')
    const types = server.seen.map((m) => m.options.get(Opt.messageType)![0])
    expect(types).toEqual([1, 1, 3, 3])
    expect(new Set(server.seen.map((m) => m.xid)).size).toBe(1)
  })

  it('gives up, with no lease, once every attempt at the REQUEST is lost', async () => {
    await using server = await lossyServer({ 3: 2 })
    const net = netTo(server.socket.address().port)
    const lease = await dhcpLease(net, '00:04:f2:00:00:02', {
      accept119: 'both',
      timeoutMs: 100,
      attempts: 2,
    })
    expect(lease).toBeUndefined()
    expect(server.seen.map((m) => m.options.get(Opt.messageType)![0])).toEqual([1, 3, 3])
  })
})
