import { createSocket } from 'node:dgram'
import { connect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { seededRandom, type Random } from '../../core/random.js'
import { startTestLab } from '../helpers/lab.js'
import { signInAlice } from '../helpers/phone.js'

/*
 * The reliability suite's fuzz smoke (issue 16; figures in docs/reliability.md): every port of a lab gets
 * random and mutated input — datagrams on the UDP ports, streams cut at random points on the TCP ports,
 * TLS records on the TLS ports — from a seeded generator, bounded in count. Afterwards no server has failed
 * (no `<server>:failed` event) and an emulated phone still signs in through every one of them.
 */
const INPUTS_PER_PORT = 2_000

const bytes = (random: Random, max: number): Buffer =>
  Buffer.from(Array.from({ length: Math.floor(random() * max) }, () => Math.floor(random() * 256)))

/** A valid-looking start (the protocol's first octets) with random octets after it, or pure noise. */
function input(random: Random, prefix: Buffer, max: number): Buffer {
  const noise = bytes(random, max)
  if (random() < 0.5) return noise
  const out = Buffer.concat([prefix, noise])
  for (let i = 0; i < 3; i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256)
  return out
}

/**
 * Datagrams in waves of 50, each wave mostly journaled before the next is sent (a socket buffer holds about
 * that many; more would be dropped by the kernel, which tests the kernel, not the lab).
 */
async function fuzzUdp(port: number, random: Random, prefix: Buffer, seen: () => number): Promise<void> {
  const s = createSocket('udp4')
  for (let wave = 0; wave < INPUTS_PER_PORT / 50; wave++) {
    const before = seen()
    for (let i = 0; i < 50; i++)
      await new Promise<void>((resolve) =>
        s.send(input(random, prefix, 600), port, '127.0.0.1', () => resolve()),
      )
    await expect.poll(seen, { timeout: 5_000 }).toBeGreaterThanOrEqual(before + 40)
  }
  await new Promise<void>((resolve) => s.close(() => resolve()))
}

/** INPUTS_PER_PORT inputs over connections of 20 inputs each, written in pieces, then the connection ends. */
async function fuzzTcp(port: number, random: Random, prefix: Buffer, tls: boolean): Promise<void> {
  for (let c = 0; c < INPUTS_PER_PORT / 20; c++) {
    await new Promise<void>((resolve) => {
      const socket = tls
        ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1' })
        : connect({ host: '127.0.0.1', port })
      const done = (): void => {
        socket.destroy()
        resolve()
      }
      socket.once('error', done)
      socket.once('close', done)
      socket.setTimeout(2_000, done)
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        for (let i = 0; i < 20 && !socket.destroyed; i++) socket.write(input(random, prefix, 400))
        socket.end()
      })
      socket.resume()
    })
  }
}

describe('fuzz smoke on every port', () => {
  it(`survives ${INPUTS_PER_PORT} random and mutated inputs per port and still signs a phone in`, async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    const random = seededRandom(1616)
    const ports = t.lab.endpoints()
    const prefixes: Record<string, Buffer> = {
      dhcp: Buffer.from([1, 1, 6, 0]),
      dns: Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0]),
      'dns-tcp': Buffer.from([0, 30, 0x12, 0x34, 0x01, 0x00, 0, 1]),
      ntp: Buffer.from([0x23, 0, 6, 0xec]),
      ldap: Buffer.from([0x30, 0x0c, 0x02, 0x01, 0x01, 0x60]),
      'ldap-gc': Buffer.from([0x30, 0x0c, 0x02, 0x01, 0x01, 0x63]),
      http: Buffer.from(
        'POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.contoso.test\r\nContent-Length: 9\r\n\r\n',
      ),
      https: Buffer.from('GET /certsrv/ HTTP/1.1\r\nHost: dc1.corp.contoso.test\r\n'),
      sip: Buffer.from('REGISTER sip:contoso.test SIP/2.0\r\nContent-Length: 4\r\n'),
      'sip-tcp': Buffer.from('SUBSCRIBE sip:alice@contoso.test SIP/2.0\r\nEvent: x\r\n'),
    }
    const seen = (server: string): number => t.lab.journal.query({ server }).length
    const fuzzed: string[] = []
    for (const e of ports) {
      const prefix = prefixes[e.name] ?? Buffer.alloc(0)
      if (e.transport === 'udp') await fuzzUdp(e.port, random, prefix, () => seen(e.server))
      else await fuzzTcp(e.port, random, prefix, e.name === 'https' || e.name === 'sip')
      fuzzed.push(e.name)
    }
    expect(fuzzed).toEqual(
      expect.arrayContaining(['dhcp', 'dns', 'dns-tcp', 'ntp', 'ldap', 'http', 'https', 'sip']),
    )
    // Each server saw the flood: UDP per datagram; a stream once or more per connection (HTTP: see
    // docs/reliability.md, requests Node's parser refuses are not journaled yet).
    for (const server of ['dhcp', 'dns', 'ntp'])
      expect(seen(server), server).toBeGreaterThan(INPUTS_PER_PORT * 0.8)
    for (const server of ['ldap', 'sip'])
      expect(seen(server), server).toBeGreaterThanOrEqual(INPUTS_PER_PORT / 20)
    expect(seen('http')).toBeGreaterThan(10)
    expect(t.lab.journal.query({ kind: 'lab:failed' })).toEqual([])
    expect(t.lab.journal.query().filter((e) => e.kind.endsWith(':failed'))).toEqual([])
    const report = await signInAlice(t, '00:04:f2:00:16:16', '1.0.522.101')
    expect(report.endState).toBe('signed-in')
  }, 180_000)
})
