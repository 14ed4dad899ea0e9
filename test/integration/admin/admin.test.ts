import { describe, expect, it } from 'vitest'
import { AdminRequestError, LabClient, type JournalEvent } from '../../../lab/client/index.js'
import { referenceIdText } from '../../../servers/ntp/codec.js'
import { MINIMAL_SCENARIO, startTestLab } from '../../helpers/lab.js'
import { ntpClient } from '../../helpers/ntp-client.js'

describe('admin API', () => {
  it('reports health and the port map', async () => {
    await using t = await startTestLab()
    expect(await t.client.health()).toMatchObject({
      ok: true,
      scenario: 'test',
      servers: expect.arrayContaining([
        { name: 'ntp', state: 'listening', ports: [expect.objectContaining({ standardPort: 123 })] },
        expect.objectContaining({ name: 'dns', state: 'listening' }),
      ]),
    })
    const e = await t.client.endpoints()
    expect(e.mode).toBe('loopback')
    expect(e.endpoints.find((p) => p.server === 'ntp')).toMatchObject({ port: t.port('ntp') })
  })

  it('reports where the memory is: the process, V8, and the journal and captures it holds', async () => {
    await using t = await startTestLab()
    await using c = await ntpClient(t.port('ntp'))
    await c.ask() // journaled before it was answered
    const { memory } = await t.client.health()
    const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10
    expect(t.lab.journal.memoryBytes).toBeGreaterThan(0)
    expect(memory.journalMb).toBe(mib(t.lab.journal.memoryBytes))
    expect(memory.captureMb).toBe(mib(t.lab.capture.bytes))
    expect(memory.heapUsedMb).toBeLessThanOrEqual(memory.heapTotalMb)
    expect(memory.rssMb).toBeGreaterThan(memory.heapUsedMb)
  })

  it('a fault added through the API changes the next NTP answer and is journaled', async () => {
    await using t = await startTestLab()
    await using c = await ntpClient(t.port('ntp'))
    expect((await c.ask()).stratum).toBe(2)
    const rule = await t.client.addFault({
      match: { server: 'ntp' },
      fault: { kind: 'error', code: 'RATE' },
      times: 1,
    })
    expect(rule).toMatchObject({ origin: 'runtime', matched: 0, applied: 0 })
    expect(referenceIdText((await c.ask()).referenceId)).toBe('RATE')
    expect((await c.ask()).stratum).toBe(2)
    const applied = await t.client.journal({ kind: 'fault:applied' })
    expect(applied).toHaveLength(1)
    expect(applied[0]).toMatchObject({
      server: 'ntp',
      detail: { ruleId: rule.id, fault: { kind: 'error', code: 'RATE' } },
    })
    expect((await t.client.faults())[0]).toMatchObject({ id: rule.id, applied: 1 })
  })

  it('refuses a bad fault rule with every problem listed', async () => {
    await using t = await startTestLab()
    const err = await t.client
      .addFault({ match: { server: 'ntp' }, fault: { kind: 'delay' } } as never)
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AdminRequestError)
    expect((err as AdminRequestError).status).toBe(400)
    expect((err as AdminRequestError).problems).toEqual([
      { path: '/fault', message: 'missing required field "ms"' },
    ])
    const err2 = await t.client
      .addFault({ match: { server: 'ntp' }, fault: { kind: 'reset' } })
      .catch((e: unknown) => e)
    expect((err2 as AdminRequestError).problems[0]).toMatchObject({ path: '/fault/kind' })
  })

  it('removes one fault and clears the rest', async () => {
    await using t = await startTestLab()
    const a = await t.client.addFault({ fault: { kind: 'drop' }, probability: 0 })
    await t.client.addFault({ fault: { kind: 'drop' }, probability: 0 })
    await t.client.removeFault(a.id)
    await expect(t.client.removeFault(a.id)).rejects.toMatchObject({ status: 404 })
    expect(await t.client.clearFaults()).toEqual({ cleared: 1 })
    expect(await t.client.faults()).toEqual([])
  })

  it('swaps the scenario atomically; a bad one gets every error and the old one keeps serving', async () => {
    await using t = await startTestLab()
    const bad =
      MINIMAL_SCENARIO.replace('name: test', 'name: Bad') +
      'servers:\n  ntp:\n    stratum: 99\n    leap: maybe\n'
    const err = await t.client.loadScenario(bad).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AdminRequestError)
    expect((err as AdminRequestError).problems.map((p) => p.path)).toEqual([
      '/name',
      '/servers/ntp/stratum',
      '/servers/ntp/leap',
    ])
    expect((err as AdminRequestError).problems[0]).toMatchObject({
      file: expect.stringContaining('<admin>'),
      line: 2,
      col: 7,
    })
    await using c = await ntpClient(t.port('ntp'))
    expect((await c.ask()).stratum).toBe(2)
    expect((await t.client.health()).scenario).toBe('test')
    const ok = await t.client.loadScenario(
      MINIMAL_SCENARIO.replace('name: test', 'name: good') + 'servers:\n  ntp:\n    stratum: 4\n',
    )
    expect(ok.name).toBe('good')
    expect((await c.ask()).stratum).toBe(4)
  })

  it('filters the journal and follows it live as NDJSON', async () => {
    await using t = await startTestLab()
    await using c = await ntpClient(t.port('ntp'))
    await c.ask()
    expect((await t.client.journal({ server: 'ntp', kind: 'ntp:response' })).length).toBe(1)
    expect((await t.client.journal({ device: '127.0.0.1' })).length).toBe(2)
    expect(await t.client.journal({ device: '00:04:f2:00:00:09' })).toEqual([])
    const seen: JournalEvent[] = []
    const abort = new AbortController()
    const gotTwo = new Promise<void>((resolve) => {
      void t.client.followJournal(
        { kind: 'ntp:response' },
        (e) => {
          seen.push(e)
          if (seen.length === 2) resolve()
        },
        abort.signal,
      )
    })
    await c.ask()
    await gotTwo
    abort.abort()
    expect(seen.map((e) => e.kind)).toEqual(['ntp:response', 'ntp:response'])
    expect(seen[1]!.seq).toBeGreaterThan(seen[0]!.seq)
    await t.client.clearJournal()
    expect(await t.client.journal()).toEqual([])
  })

  it('answers for events memory no longer holds from the journal file', async () => {
    await using t = await startTestLab(MINIMAL_SCENARIO, { journalCapacity: 20 })
    await using c = await ntpClient(t.port('ntp'))
    for (let i = 0; i < 40; i++) await c.ask()
    expect(t.lab.journal.query({ kind: 'ntp:response' }, 1_000).length).toBeLessThan(20)
    const all = await t.client.journal({ kind: 'ntp:response', limit: 100 })
    expect(all).toHaveLength(40)
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => a - b))
    expect(await t.client.journal({ kind: 'ntp:response', limit: 5 })).toEqual(all.slice(-5))
  })

  it('answers 400 to a request it cannot read', async () => {
    await using t = await startTestLab()
    const res = await fetch(`${t.admin.url}/scenario`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"nope":1}',
    })
    expect(res.status).toBe(400)
    const res2 = await fetch(`${t.admin.url}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    })
    expect(res2.status).toBe(400)
  })

  it('requires a bearer token when bound beyond loopback, except for /health', async () => {
    await using t = await startTestLab(MINIMAL_SCENARIO, { adminHost: '0.0.0.0' })
    expect(t.admin.token).toMatch(/^[A-Za-z0-9_-]{20,}$/)
    const url = t.admin.url.replace('0.0.0.0', '127.0.0.1')
    const anonymous = new LabClient(url)
    expect((await anonymous.health()).ok).toBe(true)
    await expect(anonymous.faults()).rejects.toMatchObject({ status: 401 })
    await expect(new LabClient(url, 'wrong').faults()).rejects.toMatchObject({ status: 401 })
    expect(await t.client.faults()).toEqual([])
  })
})
