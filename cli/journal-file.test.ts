import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readJournal } from './journal-file.js'

const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))

const event = (seq: number, kind: string): string =>
  JSON.stringify({ seq, time: '2007-01-01T00:00:00.000Z', server: 'lab', kind, summary: kind, detail: {} })

describe('reading a journal file', () => {
  it('keeps every whole event and skips a last line torn mid-write (a crash, a full disk)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx700-journal-file-'))
    dirs.push(dir)
    const file = join(dir, 'journal.jsonl')
    const torn = event(3, 'dns:query').slice(0, 40)
    writeFileSync(file, `${event(1, 'lab:started')}\n${event(2, 'ntp:request')}\n${torn}`)
    const { events, skipped } = readJournal(file)
    expect(events.map((e) => e.kind)).toEqual(['lab:started', 'ntp:request'])
    expect(skipped).toBe(1)
  })

  it('names the file it cannot read', () => {
    expect(() => readJournal('/nonexistent/journal.jsonl')).toThrow(
      /the journal \/nonexistent\/journal\.jsonl/,
    )
  })
})
