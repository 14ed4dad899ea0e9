import { createSocket, type Socket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { bindUdp, closeUdp } from './udp.js'
import { UdpPump, type DatagramSocket } from './udp-pumps.js'

/** A client socket on loopback that resolves with the first datagram it gets back. */
async function client(): Promise<{ socket: Socket; reply: Promise<string> }> {
  const socket = createSocket('udp4')
  const reply = new Promise<string>((resolve) => socket.once('message', (m) => resolve(m.toString())))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return { socket, reply }
}

describe('UdpPump', () => {
  it('shares the main socket’s port: every query is answered, through whichever socket the kernel chose', async () => {
    const seen: string[] = []
    const echo =
      (via: string) => (socket: DatagramSocket, msg: Buffer, rinfo: { address: string; port: number }) => {
        seen.push(via)
        socket.send(Buffer.from(`${via}:${msg.toString()}`), rinfo.port, rinfo.address)
      }
    const main = await bindUdp(
      'test',
      '127.0.0.1',
      0,
      (msg, rinfo) => echo('main')(main, msg, rinfo),
      () => undefined,
      false,
      true,
    )
    const port = main.address().port
    const pump = await UdpPump.start('test', '127.0.0.1', port, echo('pump'), () => undefined)
    const clients = await Promise.all(Array.from({ length: 32 }, () => client()))
    try {
      clients.forEach((c, i) => c.socket.send(`q${i}`, port, '127.0.0.1'))
      const replies = await Promise.all(clients.map((c) => c.reply))
      replies.forEach((r, i) => expect(r).toMatch(new RegExp(`^(main|pump):q${i}$`)))
      // The kernel hashes each peer to one socket: 32 peers all on the main socket would be a 1 in 2^32 chance.
      expect(seen).toContain('pump')
      expect(pump.address()).toEqual({ address: '127.0.0.1', port })
    } finally {
      await pump.close()
      await closeUdp(main)
      for (const c of clients) c.socket.close()
    }
  })

  it('refuses a port it cannot share, naming it', async () => {
    const holder = await bindUdp(
      'test',
      '127.0.0.1',
      0,
      () => undefined,
      () => undefined,
    ) // no reusePort
    try {
      await expect(
        UdpPump.start(
          'dns',
          '127.0.0.1',
          holder.address().port,
          () => undefined,
          () => undefined,
        ),
      ).rejects.toMatchObject({
        code: 'LAB_ERR_SERVER_BIND',
        message: expect.stringMatching(/already in use/),
      })
    } finally {
      await closeUdp(holder)
    }
  })
})
