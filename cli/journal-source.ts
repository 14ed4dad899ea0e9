import type { JournalEvent } from '../core/journal/journal.js'
import { readJournalSaying } from './journal-file.js'
import { client } from './commands.js'

/** The events to judge: a saved journal (--journal FILE), else the running lab's (--lab, --admin). */
export async function journalEvents(values: {
  readonly journal?: string
  readonly lab?: string
  readonly admin?: string
  readonly token?: string
  readonly state?: string
}): Promise<JournalEvent[]> {
  if (values.journal !== undefined) return readJournalSaying(values.journal)
  return client({ ...values, admin: values.lab ?? values.admin }).journal({ limit: 100_000 })
}
