import { readFileSync } from 'node:fs'
import type { JournalEvent } from '../core/journal/journal.js'
import { usage } from './args.js'
import { client } from './commands.js'

/** Reads a journal.jsonl; a line that is not an event is counted and skipped. */
export function readJournal(file: string): { events: JournalEvent[]; skipped: number } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw usage(`--journal ${file}: ${(err as Error).message}`)
  }
  const events: JournalEvent[] = []
  let skipped = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      const e = JSON.parse(line) as JournalEvent
      if (typeof e.seq === 'number' && typeof e.kind === 'string') events.push(e)
      else skipped++
    } catch {
      skipped++
    }
  }
  return { events, skipped }
}

/** The events to judge: a saved journal (--journal FILE), else the running lab's (--lab, --admin). */
export async function journalEvents(values: {
  readonly journal?: string
  readonly lab?: string
  readonly admin?: string
  readonly token?: string
  readonly state?: string
}): Promise<JournalEvent[]> {
  if (values.journal !== undefined) return readJournal(values.journal).events
  return client({ ...values, admin: values.lab ?? values.admin }).journal({ limit: 100_000 })
}
