import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../../lab/scenario/load.js'
import {
  DnsRcode,
  DnsType,
  decodeDns,
  encodeDns,
  frameDns,
  rdataText,
  type DnsMessage,
} from '../../../servers/dns/codec.js'
import { AdminRequestError } from '../../../lab/client/index.js'
import type { JournalEvent } from '../../../core/journal/journal.js'
import { MINIMAL_SCENARIO, startTestLab } from '../../helpers/lab.js'
import { askTcp, askUdp, dnsQuery, tcpExchange, udpExchange } from '../../helpers/dns-client.js'

const SRV = '_sipinternaltls._tcp.contoso.test'

describe('DNS server on real sockets', () => {
  it('answers over UDP and TCP on one port, and journals each exchange with the device', async () => {
    await using t = await startTestLab()
    const ports = t.lab.endpoints().filter((e) => e.server === 'dns')
    expect(ports.map((p) => p.transport).sort()).toEqual(['tcp', 'udp'])
    expect(new Set(ports.map((p) => p.port)).size).toBe(1)
    const port = t.port('dns')
    const udp = await askUdp(port, dnsQuery(SRV, DnsType.SRV))
    expect(udp?.answers.map(rdataText)).toEqual(['0 0 5061 ocspool.contoso.test.'])
    const [tcp] = await askTcp(port, [dnsQuery('sip.contoso.test', DnsType.A)])
    expect(tcp?.answers.map(rdataText)).toEqual(['10.50.0.1'])
    const events = t.lab.journal.query({ kind: 'dns:query' })
    expect(events.map((e) => [e.detail.qname, e.detail.qtype, e.detail.transport, e.detail.rcode])).toEqual([
      [SRV.toLowerCase(), 'SRV', 'udp', 'NOERROR'],
      ['sip.contoso.test', 'A', 'tcp', 'NOERROR'],
    ])
    expect(events[0]?.device).toEqual({ ip: '127.0.0.1' })
    expect(events[0]?.summary).toBe(
      `${SRV} SRV (udp) → NOERROR ${SRV}. 300 SRV 0 0 5061 ocspool.contoso.test.`,
    )
  })

  it('echoes the id, RD and the letter case of the question, also when the answer comes from its cache', async () => {
    await using t = await startTestLab()
    for (const [id, name] of [
      [7, 'SIP.contoso.TEST'],
      [8, 'sip.CONTOSO.test'],
    ] as const) {
      const raw = await udpExchange(t.port('dns'), encodeDns(dnsQuery(name, DnsType.A, { id })))
      const m = decodeDns(raw!)
      expect(m).toMatchObject({ id, rd: true, qr: true, aa: true })
      expect(m.questions[0]?.name).toBe(name)
      expect(m.answers[0]?.name).toBe(name) // the owner is a pointer to the question
    }
  })

  it('journals a cached answer as it does a fresh one: each id its own, the line the event', async () => {
    await using t = await startTestLab()
    const seen: JournalEvent[] = []
    t.lab.journal.subscribe((e) => e.kind === 'dns:query' && seen.push(e))
    for (const id of [21, 22]) await askUdp(t.port('dns'), dnsQuery(SRV, DnsType.SRV, { id }))
    await askTcp(t.port('dns'), [
      dnsQuery(SRV, DnsType.SRV, { id: 23 }),
      dnsQuery(SRV, DnsType.SRV, { id: 24 }),
    ])
    const lines = t.lab.journal.query({ kind: 'dns:query' })
    expect(lines).toEqual(JSON.parse(JSON.stringify(seen)))
    expect(lines.map((e) => [e.detail.id, e.detail.transport])).toEqual([
      [21, 'udp'],
      [22, 'udp'],
      [23, 'tcp'],
      [24, 'tcp'],
    ])
    expect(new Set(lines.map((e) => e.summary)).size).toBe(2)
  })

  it('echoes an OPT record only when the query had one (RFC 6891 §7)', async () => {
    await using t = await startTestLab()
    expect(
      (await askUdp(t.port('dns'), dnsQuery('sip.contoso.test', 1, { edns: 4096 })))?.edns?.udpSize,
    ).toBe(1232)
    expect((await askUdp(t.port('dns'), dnsQuery('sip.contoso.test', 1)))?.edns).toBeUndefined()
  })

  it('answers a malformed query with FORMERR, drops what has no header, and keeps serving', async () => {
    await using t = await startTestLab()
    const port = t.port('dns')
    const formerr = await udpExchange(port, Buffer.from('abcd0100000100000000000040', 'hex'))
    expect(formerr && decodeDns(formerr)).toMatchObject({ id: 0xabcd, qr: true, rcode: DnsRcode.FORMERR })
    expect(await udpExchange(port, Buffer.from('abcd01', 'hex'), 300)).toBeUndefined()
    expect((await askUdp(port, dnsQuery('sip.contoso.test', 1)))?.rcode).toBe(DnsRcode.NOERROR)
    // Journaled as every server journals what does not decode, the first with the id it was answered with.
    expect(t.lab.journal.query({ kind: 'dns:malformed' }).map((e) => e.detail)).toEqual([
      expect.objectContaining({ transport: 'udp', bytes: 13, id: 0xabcd, rcode: 'FORMERR' }),
      expect.not.objectContaining({ id: expect.anything() }),
    ])
    expect(t.lab.journal.query({ kind: 'dns:failed' })).toEqual([])
  })

  it('answers pipelined TCP queries in order even when split across writes at every point', async () => {
    await using t = await startTestLab()
    const stream = Buffer.concat(
      [dnsQuery(SRV, DnsType.SRV, { id: 1 }), dnsQuery('sip.contoso.test', 1, { id: 2 })].map((q) =>
        frameDns(encodeDns(q)),
      ),
    )
    for (const cut of [1, 2, 17, stream.length - 1]) {
      const answers = await tcpExchange(t.port('dns'), [stream.subarray(0, cut), stream.subarray(cut)], 2)
      expect(answers.map((a) => decodeDns(a).id)).toEqual([1, 2])
    }
  })

  it('sets TC over UDP for an answer too big for 512 octets, and gives it whole over TCP', async () => {
    const records = Array.from(
      { length: 40 },
      (_, i) => `      - { name: big.contoso.test, type: A, value: 10.0.1.${i} }`,
    )
    await using t = await startTestLab(
      MINIMAL_SCENARIO + `servers:\n  dns:\n    records:\n${records.join('\n')}\n`,
    )
    const udp = await askUdp(t.port('dns'), dnsQuery('big.contoso.test', DnsType.A))
    expect(udp).toMatchObject({ tc: true, answers: [] })
    const [tcp] = await askTcp(t.port('dns'), [dnsQuery('big.contoso.test', DnsType.A)])
    expect(tcp?.tc).toBe(false)
    expect(tcp?.answers).toHaveLength(40)
  })
})

describe('DNS records changed while the lab runs (admin API)', () => {
  it('adds, removes and undoes records; every change is journaled and served at once', async () => {
    await using t = await startTestLab()
    const port = t.port('dns')
    const added = await t.client.addDnsRecord({
      name: '_sip._tls.contoso.test',
      type: 'SRV',
      value: '0 0 443 ocspool.contoso.test',
    })
    expect(
      (await askUdp(port, dnsQuery('_sip._tls.contoso.test', DnsType.SRV)))?.answers.map(rdataText),
    ).toEqual(['0 0 443 ocspool.contoso.test.'])
    const removed = await t.client.removeDnsRecords(SRV, 'SRV')
    expect((await askUdp(port, dnsQuery(SRV, DnsType.SRV)))?.answers).toEqual([])
    const listed = await t.client.dnsRecords()
    expect(listed.changes.map((c) => c.id)).toEqual([added.id, removed.id])
    expect(listed.records.some((r) => r.name === '_sip._tls.contoso.test' && r.type === 'SRV')).toBe(true)
    await t.client.undoDnsChange(removed.id)
    expect((await askUdp(port, dnsQuery(SRV, DnsType.SRV)))?.answers).toHaveLength(1)
    expect(await t.client.resetDnsChanges()).toEqual({ undone: 1 })
    expect(t.lab.journal.query({ server: 'dns', kind: 'dns:record-added' })).toHaveLength(1)
    expect(t.lab.journal.query({ server: 'dns', kind: 'dns:record-removed' })).toHaveLength(1)
  })

  it('runtime records of one name and type add up, and replace the scenario ones', async () => {
    await using t = await startTestLab()
    await t.client.addDnsRecord({ name: 'sip.contoso.test', type: 'A', value: '10.50.0.8' })
    await t.client.addDnsRecord({ name: 'sip.contoso.test', type: 'A', value: '10.50.0.9' })
    const a = await askUdp(t.port('dns'), dnsQuery('sip.contoso.test', 1))
    expect(a?.answers.map(rdataText)).toEqual(['10.50.0.8', '10.50.0.9'])
  })

  it('refuses a bad record with the reason, and an unknown change id with 404', async () => {
    await using t = await startTestLab()
    const bad = await t.client
      .addDnsRecord({ name: 'x.contoso.test', type: 'A', value: 'ten' })
      .catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(AdminRequestError)
    expect((bad as AdminRequestError).status).toBe(400)
    expect((bad as Error).message).toBe(
      'Failed to read the A record of x.contoso.test: "ten" is not an IPv4 address.',
    )
    const missing = await t.client.undoDnsChange('d99').catch((e: unknown) => e)
    expect((missing as AdminRequestError).status).toBe(404)
  })

  it('keeps runtime changes across a scenario reload', async () => {
    await using t = await startTestLab()
    await t.client.addDnsRecord({ name: 'extra.contoso.test', type: 'A', value: '10.50.0.77' })
    await t.client.loadScenario(
      MINIMAL_SCENARIO.replace('name: test', 'name: test2') + 'servers:\n  dns:\n    ttl: 60\n',
    )
    const a = await askUdp(t.port('dns'), dnsQuery('extra.contoso.test', 1))
    expect(a?.answers.map(rdataText)).toEqual(['10.50.0.77'])
    const srv = await askUdp(t.port('dns'), dnsQuery(SRV, DnsType.SRV))
    expect(srv?.answers[0]?.ttl).toBe(60)
  })
})

describe('DNS per-device views', () => {
  it('answers one peer differently from the others', async () => {
    await using t = await startTestLab(
      MINIMAL_SCENARIO +
        `servers:
  dns:
    views:
      - match: { peer: 127.0.0.0/8 }
        remove: [{ name: ${SRV}, type: SRV }]
        records: [{ name: sip.contoso.test, type: A, value: 10.50.0.200 }]
`,
    )
    const port = t.port('dns')
    expect((await askUdp(port, dnsQuery(SRV, DnsType.SRV)))?.answers).toEqual([])
    expect((await askUdp(port, dnsQuery('sip.contoso.test', 1)))?.answers.map(rdataText)).toEqual([
      '10.50.0.200',
    ])
    expect(t.lab.journal.query({ kind: 'dns:query' })[0]?.detail.view).toBe(1)
  })

  it('matches a view by device: an address the journal knows', async () => {
    await using t = await startTestLab(
      MINIMAL_SCENARIO +
        `servers:
  dns:
    views:
      - match: { device: 10.9.9.9 }
        remove: [{ name: sip.contoso.test }]
`,
    )
    expect((await askUdp(t.port('dns'), dnsQuery('sip.contoso.test', 1)))?.answers).toHaveLength(1)
  })
})

describe('DNS faults', () => {
  it('error: SERVFAIL for one name, the others unharmed; the rule counts down', async () => {
    await using t = await startTestLab()
    await t.client.addFault({
      match: { server: 'dns', fields: { qname: '_ldap._tcp.dc._msdcs.*' } },
      fault: { kind: 'error', code: 'SERVFAIL' },
      times: 1,
    })
    const port = t.port('dns')
    const ldap = '_ldap._tcp.dc._msdcs.contoso.test'
    expect((await askUdp(port, dnsQuery('sip.contoso.test', 1)))?.rcode).toBe(DnsRcode.NOERROR)
    expect((await askUdp(port, dnsQuery(ldap, DnsType.SRV)))?.rcode).toBe(DnsRcode.SERVFAIL)
    expect((await askUdp(port, dnsQuery(ldap, DnsType.SRV)))?.rcode).toBe(DnsRcode.NOERROR)
    expect(t.lab.journal.query({ kind: 'fault:applied', server: 'dns' })).toHaveLength(1)
  })

  it('answer: a wrong SRV port; tc: an empty truncated answer that makes the client retry over TCP', async () => {
    await using t = await startTestLab()
    const port = t.port('dns')
    await t.client.addFault({
      match: { server: 'dns', fields: { qtype: 'SRV' } },
      fault: { kind: 'answer', set: { port: 5062 } },
      times: 1,
    })
    expect((await askUdp(port, dnsQuery(SRV, DnsType.SRV)))?.answers.map(rdataText)).toEqual([
      '0 0 5062 ocspool.contoso.test.',
    ])
    await t.client.addFault({
      match: { server: 'dns', fields: { transport: 'udp' } },
      fault: { kind: 'answer', set: { tc: true } },
      times: 1,
    })
    expect(await askUdp(port, dnsQuery(SRV, DnsType.SRV))).toMatchObject({ tc: true, answers: [] })
    expect((await askTcp(port, [dnsQuery(SRV, DnsType.SRV)]))[0]?.answers).toHaveLength(1)
  })

  it('drop, garbage, truncate over UDP and reset over TCP', async () => {
    await using t = await startTestLab()
    const port = t.port('dns')
    const q = (): Uint8Array => encodeDns(dnsQuery('sip.contoso.test', 1))
    await t.client.addFault({ match: { server: 'dns' }, fault: { kind: 'drop' }, times: 1 })
    expect(await udpExchange(port, q(), 300)).toBeUndefined()
    await t.client.addFault({ match: { server: 'dns' }, fault: { kind: 'garbage', bytes: 7 }, times: 1 })
    expect((await udpExchange(port, q()))?.length).toBe(7)
    await t.client.addFault({ match: { server: 'dns' }, fault: { kind: 'truncate', bytes: 10 }, times: 1 })
    expect((await udpExchange(port, q()))?.length).toBe(10)
    await t.client.addFault({
      match: { server: 'dns', fields: { transport: 'tcp' } },
      fault: { kind: 'reset' },
      times: 1,
    })
    expect(await tcpExchange(port, [frameDns(q())], 1)).toEqual([])
    expect((await askUdp(port, dnsQuery('sip.contoso.test', 1)))?.rcode).toBe(DnsRcode.NOERROR)
    expect(
      t.lab.journal
        .query({ kind: 'dns:query' })
        .map((e) => e.detail.fault)
        .filter(Boolean),
    ).toEqual(['drop', 'garbage', 'truncate', 'reset'])
  })

  it('refuses an error code DNS does not have, naming the ones it has', async () => {
    await using t = await startTestLab()
    const err = await t.client
      .addFault({ match: { server: 'dns' }, fault: { kind: 'error', code: 'RATE' } })
      .catch((e: unknown) => e)
    expect((err as AdminRequestError).problems).toEqual([
      {
        path: '/fault/code',
        message: '"RATE" is not a dns error (use one of: FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED)',
      },
    ])
  })
})

describe('DNS with UDP pump threads (servers.dns.workers)', () => {
  const WITH_WORKERS = (n: number): string => `${MINIMAL_SCENARIO}servers:\n  dns:\n    workers: ${n}\n`

  /** Asks from `count` sockets of their own (the kernel spreads peers among the port's sockets by their address and port). */
  async function askFromMany(
    port: number,
    count: number,
    name: string,
    file: string,
  ): Promise<{ id: number; answer: DnsMessage | undefined; inFileFirst: boolean }[]> {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const id = 1000 + i
        const socket = createSocket('udp4')
        try {
          return await new Promise((resolve) => {
            const timer = setTimeout(() => resolve({ id, answer: undefined, inFileFirst: false }), 1_000)
            socket.once('message', (msg) => {
              clearTimeout(timer)
              // The line of the answer is in the journal's file before the client gets the answer.
              const inFileFirst = readFileSync(file, 'utf8').includes(`"detail":{"id":${id},`)
              resolve({ id, answer: decodeDns(msg), inFileFirst })
            })
            socket.send(encodeDns(dnsQuery(name, DnsType.A, { id })), port, '127.0.0.1')
          })
        } finally {
          socket.close()
        }
      }),
    )
  }

  it('answers every query whichever thread received it, each journaled before it was sent; faults apply alike', async () => {
    await using t = await startTestLab(WITH_WORKERS(2))
    const port = t.port('dns')
    const file = join(t.lab.runDir, 'journal.jsonl')
    const asked = await askFromMany(port, 32, 'sip.contoso.test', file)
    for (const a of asked) {
      expect(a.answer?.id).toBe(a.id)
      expect(a.answer?.answers.map(rdataText)).toEqual(['10.50.0.1'])
      expect(a.inFileFirst).toBe(true)
    }
    const events = t.lab.journal.query({ kind: 'dns:query' })
    expect(events.map((e) => e.detail.id).sort()).toEqual(asked.map((a) => a.id).sort())
    expect(events.every((e) => e.peer?.transport === 'udp' && e.device?.ip === '127.0.0.1')).toBe(true)

    await t.client.addFault({
      match: { server: 'dns', fields: { qname: 'sip.contoso.test' } },
      fault: { kind: 'drop' },
    })
    const dropped = await askFromMany(port, 16, 'sip.contoso.test', file)
    expect(dropped.every((a) => a.answer === undefined)).toBe(true)
    expect(t.lab.journal.query({ kind: 'fault:applied', server: 'dns' })).toHaveLength(16)
  })

  it('stops and starts its threads when a reload changes workers, answering throughout', async () => {
    await using t = await startTestLab(WITH_WORKERS(1))
    const port = t.port('dns')
    const file = join(t.lab.runDir, 'journal.jsonl')
    for (const n of [0, 3, 1]) {
      await t.lab.reload(loadScenario(t.write(`workers-${n}.yaml`, WITH_WORKERS(n))))
      const asked = await askFromMany(port, 16, 'sip.contoso.test', file)
      expect(asked.map((a) => a.answer?.id)).toEqual(asked.map((a) => a.id))
    }
  })
})
