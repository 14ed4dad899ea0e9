import { describe, expect, it } from 'vitest'
import { referenceIdText, unixMsFromNtpTimestamp } from '../../../servers/ntp/codec.js'
import { MINIMAL_SCENARIO, startTestLab } from '../../helpers/lab.js'
import { clientRequest, ntpClient } from '../../helpers/ntp-client.js'

describe('NTP server on a real socket', () => {
  it('answers a client and journals request and response with the device', async () => {
    await using t = await startTestLab()
    await using c = await ntpClient(t.port('ntp'))
    const req = clientRequest(3)
    const before = Date.now()
    const p = await c.ask(req)
    expect(p.mode).toBe(4)
    expect(p.version).toBe(3)
    expect(p.originTimestamp).toBe(req.transmitTimestamp)
    const served = unixMsFromNtpTimestamp(p.transmitTimestamp, before)
    expect(Math.abs(served - before)).toBeLessThan(2_000)
    const events = t.lab.journal.query({ server: 'ntp' })
    expect(events.map((e) => e.kind)).toEqual(['ntp:request', 'ntp:response'])
    expect(events[0]?.device).toEqual({ ip: '127.0.0.1' })
    expect(events[0]?.peer?.transport).toBe('udp')
  })

  it('journals and drops malformed datagrams and keeps serving', async () => {
    await using t = await startTestLab()
    await using c = await ntpClient(t.port('ntp'))
    for (const bad of [new Uint8Array(0), new Uint8Array(47), new Uint8Array(2000)]) c.send(bad)
    const req = clientRequest()
    const p = await c.ask(req)
    expect(p.originTimestamp).toBe(req.transmitTimestamp)
    expect(t.lab.journal.query({ kind: 'ntp:malformed' }).map((e) => e.detail.bytes)).toEqual([0, 47, 2000])
  })

  it('journals requests it does not answer (server-mode packets, skipped versions)', async () => {
    await using t = await startTestLab(MINIMAL_SCENARIO + 'servers:\n  ntp:\n    versions: [4]\n')
    await using c = await ntpClient(t.port('ntp'))
    c.send({ ...clientRequest(), mode: 4 })
    c.send(clientRequest(3))
    const req = clientRequest(4)
    expect((await c.ask(req)).originTimestamp).toBe(req.transmitTimestamp)
    expect(t.lab.journal.query({ kind: 'ntp:ignored' }).map((e) => e.summary)).toEqual([
      'not answered: mode 4 is not a client request',
      'not answered: version 3 is not answered (versions: 4)',
    ])
  })

  it('serves the scenario offset: a phone three years ahead', async () => {
    await using t = await startTestLab(MINIMAL_SCENARIO + 'servers:\n  ntp:\n    offset: +3y\n')
    await using c = await ntpClient(t.port('ntp'))
    const now = Date.now()
    const p = await c.ask()
    const served = unixMsFromNtpTimestamp(p.transmitTimestamp, now + 94_672_800_000)
    expect(Math.abs(served - now - 94_672_800_000)).toBeLessThan(2_000)
    expect(t.lab.journal.query({ kind: 'ntp:response' })[0]?.detail.offsetMs).toBe(94_672_800_000)
  })
})

describe('NTP faults', () => {
  it('drop: the faulted request gets no answer; the next one does', async () => {
    await using t = await startTestLab()
    await t.client.addFault({ match: { server: 'ntp' }, fault: { kind: 'drop' }, times: 1 })
    await using c = await ntpClient(t.port('ntp'))
    const first = clientRequest(4, Date.now() - 1000)
    const second = clientRequest(4, Date.now())
    c.send(first)
    await t.lab.journal.waitFor({ kind: 'fault:applied' })
    const p = await c.ask(second)
    expect(p.originTimestamp).toBe(second.transmitTimestamp)
    expect(t.lab.journal.query({ kind: 'ntp:response' })).toHaveLength(1)
  })

  it('error: answers Kiss-o-Death with the code asked for', async () => {
    await using t = await startTestLab()
    await t.client.addFault({ match: { server: 'ntp' }, fault: { kind: 'error', code: 'DENY' } })
    await using c = await ntpClient(t.port('ntp'))
    const p = await c.ask()
    expect(p.stratum).toBe(0)
    expect(referenceIdText(p.referenceId)).toBe('DENY')
  })

  it('answer: a wrong but well-formed answer (origin zeroed, stratum 16)', async () => {
    await using t = await startTestLab()
    await t.client.addFault({
      match: { server: 'ntp' },
      fault: { kind: 'answer', set: { originZero: true, stratum: 16 } },
    })
    await using c = await ntpClient(t.port('ntp'))
    const p = await c.ask()
    expect(p.originTimestamp).toBe(0n)
    expect(p.stratum).toBe(16)
  })

  it('garbage, corrupt and truncate change the bytes on the wire', async () => {
    await using t = await startTestLab()
    await using c = await ntpClient(t.port('ntp'))
    await t.client.addFault({ match: { server: 'ntp' }, fault: { kind: 'truncate', bytes: 20 }, times: 1 })
    c.send(clientRequest())
    expect((await c.next()).length).toBe(20)
    await t.client.addFault({ match: { server: 'ntp' }, fault: { kind: 'garbage', bytes: 7 }, times: 1 })
    c.send(clientRequest())
    expect((await c.next()).length).toBe(7)
    await t.client.addFault({ match: { server: 'ntp' }, fault: { kind: 'corrupt', bytes: 1 }, times: 1 })
    c.send(clientRequest())
    expect((await c.next()).length).toBe(48)
    expect(t.lab.journal.query({ kind: 'ntp:response' }).map((e) => e.detail.fault)).toEqual([
      'truncate',
      'garbage',
      'corrupt',
    ])
    expect(
      t.lab.journal.query({ kind: 'fault:applied' }).map((e) => (e.detail.fault as { kind: string }).kind),
    ).toEqual(['truncate', 'garbage', 'corrupt'])
  })

  it('delay: the answer comes after the delay (measured by the journal, not asserted on wall time)', async () => {
    await using t = await startTestLab()
    await t.client.addFault({ match: { server: 'ntp' }, fault: { kind: 'delay', ms: 200 }, times: 1 })
    await using c = await ntpClient(t.port('ntp'))
    const p = await c.ask()
    expect(p.mode).toBe(4)
    const [req, res] = t.lab.journal.query({ server: 'ntp', kind: 'ntp:' })
    expect(Date.parse(res!.time) - Date.parse(req!.time)).toBeGreaterThanOrEqual(199)
  })

  it('matches by device and by protocol field: only the v3 client meets the fault', async () => {
    await using t = await startTestLab()
    await t.client.addFault({
      match: { server: 'ntp', device: '127.0.0.1', fields: { version: 3 } },
      fault: { kind: 'error', code: 'RATE' },
    })
    await using c = await ntpClient(t.port('ntp'))
    expect((await c.ask(clientRequest(4))).stratum).toBe(2)
    expect(referenceIdText((await c.ask(clientRequest(3))).referenceId)).toBe('RATE')
  })
})
