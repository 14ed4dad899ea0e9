import { connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { bindTcp, closeTcp, messageDeadline } from './tcp.js'

describe('TCP listener limits and the message deadline', () => {
  it('refuses connections over the per-address limit and reports them', async () => {
    const refused: string[] = []
    const held: Socket[] = []
    const listener = await bindTcp('t', '127.0.0.1', 0, (s) => held.push(s), {
      perPeer: 2,
      onRefused: (peer, why) => refused.push(`${peer.address}: ${why}`),
    })
    const port = (listener.server.address() as { port: number }).port
    const clients = Array.from({ length: 3 }, () => connect({ host: '127.0.0.1', port }))
    await expect.poll(() => refused.length).toBe(1)
    expect(refused[0]).toContain('the limit for one address')
    expect(held).toHaveLength(2)
    for (const c of clients) c.destroy()
    await closeTcp(listener)
  })

  it('closes a connection whose message began and did not end in time', async () => {
    const expired: string[] = []
    const listener = await bindTcp('t', '127.0.0.1', 0, (s) => {
      const deadline = messageDeadline(s, 50, () => {
        expired.push('expired')
        s.destroy()
      })
      s.on('data', (d: Buffer) => deadline(d.toString().endsWith('\n') === false))
    })
    const port = (listener.server.address() as { port: number }).port
    const partial = connect({ host: '127.0.0.1', port }, () => partial.write('half a mess'))
    const closed = new Promise<void>((resolve) => partial.once('close', () => resolve()))
    partial.resume()
    await closed
    expect(expired).toEqual(['expired'])
    await closeTcp(listener)
  })
})
