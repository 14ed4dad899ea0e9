import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { UDP_RECEIVE_BUFFER, bindUdp, closeUdp, lookupAddress } from './udp.js'

describe('bindUdp', () => {
  it('asks for a receive buffer that holds a boot storm, as far as the kernel allows', async () => {
    const socket = await bindUdp(
      'test',
      '127.0.0.1',
      0,
      () => undefined,
      () => undefined,
    )
    try {
      // Linux doubles what it is asked for (its bookkeeping) and caps the request at net.core.rmem_max.
      const max = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'))
      expect(socket.getRecvBufferSize()).toBe(2 * Math.min(UDP_RECEIVE_BUFFER, max))
    } finally {
      await closeUdp(socket)
    }
  })

  it('sends to an address without a lookup deferred to the next tick, and still to a name', async () => {
    let answered: unknown[] | undefined
    lookupAddress('10.50.0.9', { family: 4 }, (...args) => (answered = args))
    expect(answered).toEqual([null, '10.50.0.9', 4]) // handed back before the call returned
    const named = await new Promise<unknown[]>((resolve) =>
      lookupAddress('localhost', { family: 4 }, (...args) => resolve(args)),
    )
    expect(named).toEqual([null, '127.0.0.1', 4])

    const got: string[] = []
    let arrived: () => void = () => undefined
    const done = new Promise<void>((r) => (arrived = r))
    const receiver = await bindUdp(
      'test',
      '127.0.0.1',
      0,
      (msg) => {
        got.push(msg.toString())
        arrived()
      },
      () => undefined,
    )
    const sender = await bindUdp(
      'test',
      '127.0.0.1',
      0,
      () => undefined,
      () => undefined,
    )
    try {
      sender.send('hello', receiver.address().port, '127.0.0.1')
      await done
      expect(got).toEqual(['hello'])
    } finally {
      await Promise.all([closeUdp(sender), closeUdp(receiver)])
    }
  })
})
