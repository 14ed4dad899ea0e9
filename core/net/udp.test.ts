import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { UDP_RECEIVE_BUFFER, bindUdp, closeUdp } from './udp.js'

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
})
