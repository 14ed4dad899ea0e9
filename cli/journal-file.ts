import { readFileSync } from 'node:fs'
import { parseLine, type JournalEvent } from '../core/journal/journal.js'
import { usage } from './args.js'

/** Reads a journal.jsonl; a line that is not an event is counted and skipped. */
export function readJournal(file: string): { events: JournalEvent[]; skipped: number } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw usage(`Failed to read the journal ${file}: ${(err as Error).message}`)
  }
  const events: JournalEvent[] = []
  let skipped = 0
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const e = parseLine(line)
    if (e) events.push(e)
    else skipped++
  }
  return { events, skipped }
}

/**
 * Reads a journal.jsonl as `readJournal` does and says on stderr how many lines were not events: a torn last
 * line is what a crash or a full disk leaves mid-write, and the rest of the file is still good.
 */
export function readJournalSaying(file: string): JournalEvent[] {
  const { events, skipped } = readJournal(file)
  if (skipped > 0)
    process.stderr.write(
      `${file}: ${skipped} line(s) that are not journal events skipped (a line torn by a crash or a full disk)\n`,
    )
  return events
}
