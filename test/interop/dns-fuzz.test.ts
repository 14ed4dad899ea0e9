import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DnsType, decodeDns, encodeDns, frameDns } from '../../servers/dns/codec.js'
import { dnsQuery, tcpExchange } from '../helpers/dns-client.js'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { tool } from '../helpers/tools.js'

const run = promisify(execFile)
const dig = tool('dig', 'bind9-dnsutils')

async function digSrv(t: TestLab): Promise<string> {
  const { stdout } = await run(
    dig.path!,
    [
      '@127.0.0.1',
      '-p',
      String(t.port('dns')),
      '+tries=2',
      '+time=2',
      '+short',
      '_sipinternaltls._tcp.contoso.test',
      'SRV',
    ],
    { timeout: 15_000 },
  )
  return stdout.trim()
}

const VALID = [
  encodeDns(dnsQuery('_sipinternaltls._tcp.contoso.test', DnsType.SRV, { edns: 1232 })),
  encodeDns(dnsQuery('sip.contoso.test', DnsType.A)),
  encodeDns(dnsQuery('_ldap._tcp.dc._msdcs.corp.contoso.test', DnsType.SRV, { edns: 4096 })),
]
const datagram = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc
    .tuple(
      fc.constantFrom(...VALID),
      fc.array(fc.tuple(fc.nat(120), fc.nat(255)), { minLength: 1, maxLength: 5 }),
      fc.nat(30),
    )
    .map(([frame, muts, cut]) => {
      const b = Uint8Array.from(frame)
      for (const [at, v] of muts) b[at % b.length] = v
      return cut < 5 ? b.subarray(0, b.length - cut) : b
    }),
)

describe.skipIf(dig.skip)('DNS fuzz on the running server', () => {
  it('survives 100,000 random and mutated datagrams; dig is answered during and after', async () => {
    await using t = await startTestLab()
    const socket = createSocket('udp4')
    socket.on('message', () => undefined)
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()))
    const samples = fc.sample(datagram, { numRuns: 100_000, seed: 5353 })
    let handled = 0
    const unsubscribe = t.lab.journal.subscribe((e) => {
      if (e.kind === 'dns:query' || e.kind === 'dns:malformed') handled++
    })
    const port = t.port('dns')
    const during: string[] = []
    for (let i = 0; i < samples.length; i++) {
      socket.send(samples[i]!, port, '127.0.0.1')
      if (i % 16 === 15) await new Promise((r) => setImmediate(r))
      if (i % 25_000 === 12_500) during.push(await digSrv(t))
    }
    // A last query answered proves every datagram before it was read.
    const probe = dnsQuery('probe.contoso.test', DnsType.A, { id: 4242 })
    await expect
      .poll(
        async () => {
          socket.send(encodeDns(probe), port, '127.0.0.1')
          await new Promise((r) => setImmediate(r))
          return t.lab.journal
            .query({ kind: 'dns:query' })
            .some((e) => e.detail.qname === 'probe.contoso.test')
        },
        { timeout: 10_000 },
      )
      .toBe(true)
    unsubscribe()
    socket.close()
    expect(samples.length).toBe(100_000)
    expect(handled).toBeGreaterThan(95_000)
    expect(during).toEqual(Array(4).fill('0 0 5061 ocspool.contoso.test.'))
    expect(t.lab.journal.query({ kind: 'dns:failed' })).toEqual([])
    expect(await digSrv(t)).toBe('0 0 5061 ocspool.contoso.test.')
    expect((await t.client.health()).ok).toBe(true)
  }, 90_000)

  it('answers a framed query split at every point, and survives hostile TCP streams', async () => {
    await using t = await startTestLab()
    const port = t.port('dns')
    const stream = Buffer.concat(VALID.slice(0, 2).map((v) => frameDns(v)))
    for (let cut = 0; cut <= stream.length; cut++) {
      const answers = await tcpExchange(port, [stream.subarray(0, cut), stream.subarray(cut)], 2)
      expect(
        answers.map((a) => decodeDns(a).questions[0]?.name),
        `cut at ${cut}`,
      ).toEqual(['_sipinternaltls._tcp.contoso.test', 'sip.contoso.test'])
    }
    const hostile = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        fc.constant(Uint8Array.from([0xff, 0xff, 1, 2])), // a 65535-octet frame that never comes
        fc.constant(Uint8Array.from([0x00])), // half a length prefix
        fc.constant(Uint8Array.from([0x00, 0x00])), // an empty frame
        fc.uint8Array({ minLength: 1, maxLength: 60 }).map((b) => frameDns(b)),
      ),
      { numRuns: 300, seed: 5454 },
    )
    for (let i = 0; i < hostile.length; i += 30) {
      await Promise.all(hostile.slice(i, i + 30).map((h) => tcpExchange(port, [h], 1, 200)))
    }
    expect(t.lab.journal.query({ kind: 'dns:failed' })).toEqual([])
    expect(await digSrv(t)).toBe('0 0 5061 ocspool.contoso.test.')
  }, 90_000)
})
