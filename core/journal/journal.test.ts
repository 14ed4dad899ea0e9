import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { manualClock } from '../clock.js'
import { LabError } from '../errors.js'
import fc from 'fast-check'
import { Journal, eventLine, type JournalEvent } from './journal.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'cx700-journal-'))
  dirs.push(d)
  return d
}

const peer = (address: string) => ({ address, port: 1234, transport: 'udp' as const })

describe('Journal', () => {
  it('numbers events, stamps them with the lab clock and appends each to the file before returning', () => {
    const file = join(tmp(), 'run', 'journal.jsonl')
    const start = Date.now()
    const clock = manualClock(start)
    const j = new Journal({ clock, file })
    const e1 = j.record({ server: 'ntp', kind: 'ntp:request', summary: 'one' })
    clock.advance(1500)
    const e2 = j.record({ server: 'ntp', kind: 'ntp:response', summary: 'two', detail: { a: 1 } })
    expect([e1.seq, e2.seq]).toEqual([1, 2])
    expect(e2.time).toBe(new Date(start + 1500).toISOString())
    // Read while the journal is still open: the lines are already there.
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; detail: unknown })
    expect(lines.map((l) => l.seq)).toEqual([1, 2])
    expect(lines[1]?.detail).toEqual({ a: 1 })
    j.close()
  })

  it('keys events by device: a lease ties MAC and IP, a bind adds the user, later events from that IP carry all three', () => {
    const j = new Journal({ clock: manualClock(0) })
    j.record({
      server: 'dhcp',
      kind: 'dhcp:ack',
      summary: 'lease',
      device: { mac: '00-04-F2-AA-BB-CC', ip: '10.50.0.100' },
    })
    j.record({
      server: 'ldap',
      kind: 'ldap:bind',
      summary: 'bind',
      peer: peer('10.50.0.100'),
      device: { user: 'CONTOSO\\alice' },
    })
    const e = j.record({ server: 'ntp', kind: 'ntp:request', summary: 'q', peer: peer('10.50.0.100') })
    expect(e.device).toEqual({ mac: '00:04:f2:aa:bb:cc', ip: '10.50.0.100', user: 'CONTOSO\\alice' })
    expect(j.query({ device: '00:04:f2:aa:bb:cc' }).map((x) => x.kind)).toEqual([
      'dhcp:ack',
      'ldap:bind',
      'ntp:request',
    ])
    expect(j.query({ device: 'contoso\\ALICE' }).length).toBe(2)
    expect(j.query({ device: '10.50.0.100' }).length).toBe(3)
  })

  it('gives an IP to the newest device that leased it', () => {
    const j = new Journal({ clock: manualClock(0) })
    j.devices.learn({ mac: '00:04:f2:00:00:01', ip: '10.50.0.100' })
    j.devices.learn({ mac: '00:04:f2:00:00:02', ip: '10.50.0.100' })
    expect(j.record({ server: 'ntp', kind: 'k', summary: '', peer: peer('10.50.0.100') }).device?.mac).toBe(
      '00:04:f2:00:00:02',
    )
    expect(j.devices.list()).toHaveLength(2)
  })

  it('filters by server, kind prefix, sequence and time, and limits to the newest', () => {
    const clock = manualClock(1000)
    const j = new Journal({ clock })
    for (const kind of ['ntp:request', 'ntp:response', 'fault:applied', 'ntp:request']) {
      j.record({ server: kind.startsWith('fault') ? 'faults' : 'ntp', kind, summary: '' })
      clock.advance(1000)
    }
    expect(j.query({ kind: 'ntp:' }).length).toBe(3)
    expect(j.query({ kind: 'ntp:*' }).length).toBe(3)
    expect(j.query({ kind: 'ntp:request' }).map((e) => e.seq)).toEqual([1, 4])
    expect(j.query({ server: 'faults' }).map((e) => e.seq)).toEqual([3])
    expect(j.query({ afterSeq: 2 }).map((e) => e.seq)).toEqual([3, 4])
    expect(j.query({ since: 2000, until: new Date(3000).toISOString() }).map((e) => e.seq)).toEqual([2, 3])
    expect(j.query({}, 2).map((e) => e.seq)).toEqual([3, 4])
  })

  it('keeps only `capacity` events in memory, and sequence numbers go on after clear()', () => {
    const j = new Journal({ clock: manualClock(0), capacity: 3 })
    for (let i = 0; i < 5; i++) j.record({ server: 's', kind: 'k', summary: String(i) })
    expect(j.query().map((e) => e.seq)).toEqual([3, 4, 5])
    j.clear()
    expect(j.query()).toEqual([])
    expect(j.record({ server: 's', kind: 'k', summary: '' }).seq).toBe(6)
  })

  it('waitFor resolves with an event already recorded, or one still to come', async () => {
    const j = new Journal({ clock: manualClock(0) })
    j.record({ server: 'ntp', kind: 'ntp:request', summary: 'early' })
    await expect(j.waitFor({ kind: 'ntp:request' })).resolves.toMatchObject({ summary: 'early' })
    const later = j.waitFor({ kind: 'ntp:response', afterSeq: j.lastSeq })
    j.record({ server: 'ntp', kind: 'ntp:request', summary: 'not this' })
    j.record({ server: 'ntp', kind: 'ntp:response', summary: 'this' })
    await expect(later).resolves.toMatchObject({ summary: 'this', seq: 3 })
  })

  it('waitFor rejects with LAB_ERR_JOURNAL_TIMEOUT when nothing matches in time', async () => {
    const j = new Journal({ clock: manualClock(0) })
    const err = await j.waitFor({ kind: 'never' }, 20).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LabError)
    expect((err as LabError).code).toBe('LAB_ERR_JOURNAL_TIMEOUT')
  })

  it('says which file it could not open', () => {
    const dir = tmp()
    expect(() => new Journal({ clock: manualClock(0), file: join(dir, '\0bad', 'j.jsonl') })).toThrow(
      /journal file/,
    )
  })
})

describe('Journal bounds (issue 16, findings 1 and 10)', () => {
  const clock = () => manualClock(Date.now())

  it('cuts what came from a peer to bounded text, noting its length', () => {
    const file = join(tmp(), 'journal.jsonl')
    const j = new Journal({ clock: clock(), file })
    const huge = 'x'.repeat(420_000)
    const e = j.record({ server: 'http', kind: 'http:request', summary: huge, detail: { error: huge, n: 1 } })
    expect(e.summary.length).toBeLessThan(1_100)
    expect(e.summary).toContain('(420000 characters, cut)')
    expect(String(e.detail.error)).toContain('(420000 characters, cut)')
    expect(e.detail.n).toBe(1)
    j.close()
    expect(readFileSync(file, 'utf8').length).toBeLessThan(8_000)
  })

  it('keeps at most capacityBytes of events in memory, dropping the oldest', () => {
    const j = new Journal({ clock: clock(), capacityBytes: 64 * 1024 })
    for (let i = 0; i < 5_000; i++)
      j.record({ server: 'dns', kind: 'dns:query', summary: `query ${i}`, detail: { pad: 'p'.repeat(200) } })
    expect(j.memoryBytes).toBeLessThanOrEqual(64 * 1024)
    const kept = j.query()
    expect(kept.length).toBeGreaterThan(100)
    expect(kept.at(-1)?.summary).toBe('query 4999')
  })

  it('rotates the file past fileMaxBytes, keeping one older file; the two files hold a gapless run in order', () => {
    const dir = tmp()
    const file = join(dir, 'journal.jsonl')
    const j = new Journal({ clock: clock(), file, fileMaxBytes: 20_000 })
    for (let i = 0; i < 150; i++)
      j.record({
        server: 'ntp',
        kind: 'ntp:request',
        summary: `request ${i}`,
        detail: { pad: 'p'.repeat(100) },
      })
    j.close()
    const lines = (f: string) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { seq: number; kind: string; summary: string })
    const older = lines(join(dir, 'journal.1.jsonl'))
    const current = lines(file)
    expect(current[0]?.kind).toBe('journal:rotated')
    const seqs = [...older, ...current].map((e) => e.seq)
    expect(seqs.every((seq, i) => i === 0 || seq === seqs[i - 1]! + 1)).toBe(true)
    expect(current.at(-1)).toMatchObject({ kind: 'ntp:request', summary: 'request 149' })
    expect(readFileSync(file, 'utf8').length).toBeLessThan(20_000 + 1_000)
  })
})

describe('Journal.queryAll', () => {
  const clock = () => manualClock(Date.now())
  const record = (j: Journal, i: number): void => {
    j.record({
      server: i % 2 === 0 ? 'ntp' : 'dns',
      kind: i % 2 === 0 ? 'ntp:request' : 'dns:query',
      summary: `event ${i}`,
      detail: { i, pad: 'p'.repeat(100) },
    })
  }

  it('reads from the files, the rotated one too, what memory no longer holds', async () => {
    const file = join(tmp(), 'journal.jsonl')
    const j = new Journal({ clock: clock(), file, capacity: 10, fileMaxBytes: 8_000 })
    for (let i = 1; i <= 100; i++) record(j, i)
    expect(existsSync(join(dirname(file), 'journal.1.jsonl'))).toBe(true)
    expect(j.query({}, 1_000)).toHaveLength(10)
    const seqs = (events: JournalEvent[]): number[] => events.map((e) => e.seq)
    const last = j.lastSeq
    // The newest 40: memory's 10 and 30 from the files, in sequence without a gap.
    const forty = await j.queryAll({}, 40)
    expect(seqs(forty)).toEqual(Array.from({ length: 40 }, (_, k) => last - 39 + k))
    // Only what the file of the current generation and the rotated one still hold, from afterSeq on, filtered.
    const dns = await j.queryAll({ kind: 'dns:query', afterSeq: last - 30 }, 1_000)
    expect(dns.length).toBeGreaterThan(10)
    expect(dns.every((e) => e.kind === 'dns:query' && e.seq > last - 30)).toBe(true)
    expect(seqs(dns)).toEqual([...seqs(dns)].sort((a, b) => a - b))
    expect(dns.at(-1)?.detail).toMatchObject({ i: expect.any(Number) as number })
    j.close()
  })

  it('answers from memory alone when memory holds enough, and brings nothing cleared back', async () => {
    const file = join(tmp(), 'journal.jsonl')
    const j = new Journal({ clock: clock(), file, capacity: 10 })
    for (let i = 1; i <= 30; i++) record(j, i)
    expect((await j.queryAll({}, 5)).map((e) => e.seq)).toEqual([26, 27, 28, 29, 30])
    j.clear()
    record(j, 31)
    expect((await j.queryAll({}, 100)).map((e) => e.summary)).toEqual(['event 31'])
    j.close()
  })
})

describe('eventLine', () => {
  const text = fc.string({ unit: 'binary', maxLength: 40 })
  const event = fc.record(
    {
      seq: fc.nat(),
      time: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      wall: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      server: text,
      device: fc.record({ mac: text, ip: text, user: text }, { requiredKeys: [] }),
      peer: fc.record({
        address: text,
        port: fc.oneof(fc.nat(65535), fc.constant(Number.NaN)),
        transport: fc.constantFrom('udp' as const, 'tcp' as const, 'tls' as const),
      }),
      kind: text,
      summary: text,
      detail: fc.dictionary(text, fc.jsonValue()),
    },
    { requiredKeys: ['seq', 'time', 'server', 'kind', 'summary', 'detail'] },
  )

  it('writes what JSON.stringify writes, with or without a detail kept serialized', () => {
    fc.assert(
      fc.property(event, (e: JournalEvent) => {
        const json = JSON.stringify(e) + '\n'
        expect(eventLine(e)).toBe(json)
        expect(eventLine(e, JSON.stringify(e.detail))).toBe(json)
      }),
      { numRuns: 500 },
    )
  })

  it('is what the file holds, line for line, across batched and direct records', () => {
    const dir = tmp()
    const j = new Journal({ clock: manualClock(0), file: join(dir, 'journal.jsonl') })
    const sent: string[] = []
    for (let i = 0; i < 50; i++) {
      const input = {
        server: 'dns',
        kind: 'dns:query',
        summary: `q ${i} ü`,
        detail: { id: i },
        peer: peer('10.0.0.1'),
      }
      if (i % 7 === 0) j.record(input)
      else j.recordThen(input, () => sent.push(String(i)))
    }
    j.flush()
    const lines = readFileSync(join(dir, 'journal.jsonl'), 'utf8').trimEnd().split('\n')
    expect(lines.map((l) => (JSON.parse(l) as JournalEvent).seq)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    expect(lines.map((l) => `${l}\n`)).toEqual(j.query().map((e) => eventLine(e)))
    expect(sent).toHaveLength(50 - 8)
    j.close()
  })
})

describe('Journal on a disk that refuses writes (issue "Reliability and security, second probe", finding 1)', () => {
  it.skipIf(!existsSync('/dev/full'))(
    'keeps every event in memory, sends what waited, and says the file is missing them',
    () => {
      // /dev/full answers every write with ENOSPC, as a full disk does.
      const journal = new Journal({
        clock: manualClock(Date.now()),
        file: '/dev/full',
      })
      const sent: number[] = []
      journal.record({ server: 'dns', kind: 'dns:query', summary: 'one', detail: {} })
      journal.recordThen({ server: 'dns', kind: 'dns:query', summary: 'two', detail: {} }, () => sent.push(2))
      journal.flush()
      journal.record({ server: 'dns', kind: 'dns:query', summary: 'three', detail: {} })
      expect(sent).toEqual([2])
      expect(journal.query({ kind: 'dns:query' }).map((e) => e.summary)).toEqual(['one', 'two', 'three'])
      const [failed, ...more] = journal.query({ kind: 'journal:write-failed' })
      expect(more).toEqual([])
      expect(failed?.detail).toEqual({ file: '/dev/full', error: expect.stringContaining('ENOSPC') })
      expect(journal.fileStatus).toEqual({
        writing: false,
        missing: 3,
        error: expect.stringContaining('ENOSPC'),
      })
      journal.close()
    },
  )
})
