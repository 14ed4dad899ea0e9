import type { FastifyInstance } from 'fastify'
import { eventWriter } from '../../core/journal/events.js'
import type { Journal } from '../../core/journal/journal.js'
import type { HttpEvents } from './events.js'
import type { User } from '../../core/site.js'
import { buildMailbox, type Mailbox } from './mailbox.js'
import { AddressBook } from './abs.js'

/**
 * The Exchange mailboxes of a running lab: built from the scenario the first time a user's mailbox is read,
 * then changed only by EWS (mark read, delete). A reload that changes a user's mailbox in the scenario
 * rebuilds that mailbox; other users keep their state. `DELETE /http/mailboxes` rebuilds them all.
 */
export class HttpRuntime {
  readonly #journal: Journal
  readonly #boxes = new Map<string, { readonly key: string; readonly box: Mailbox }>()
  /** The pool's address-book files (generated daily in lab time). */
  readonly addressBook: AddressBook

  constructor(journal: Journal) {
    this.#journal = journal
    this.addressBook = new AddressBook(journal)
  }

  mailbox(user: User, now: number): Mailbox {
    const key = JSON.stringify(user.mailbox)
    const have = this.#boxes.get(user.email)
    if (have && have.key === key) return have.box
    const box = buildMailbox(user, now)
    this.#boxes.set(user.email, { key, box })
    return box
  }

  /** The mailboxes read so far, with their folders' counts. */
  summary(): { user: string; folders: Record<string, { total: number; unread: number }> }[] {
    return [...this.#boxes.values()].map(({ box }) => ({
      user: box.user.email,
      folders: Object.fromEntries(
        (['inbox', 'voicemail', 'contacts', 'deleteditems'] as const).map((f) => {
          const items = box.folder(f)
          return [f, { total: items.length, unread: items.filter((i) => !i.isRead).length }]
        }),
      ),
    }))
  }

  reset(): number {
    const n = this.#boxes.size
    this.#boxes.clear()
    eventWriter<HttpEvents>(this.#journal, 'http')('http:mailboxes-reset', {
      summary: `${n} mailbox(es) rebuilt from the scenario`,
      detail: { count: n },
    })
    return n
  }
}

/** `GET /http/mailboxes` (each read mailbox's folder counts), `DELETE /http/mailboxes` (rebuild all). */
export function httpRoutes(app: FastifyInstance, runtime: HttpRuntime): void {
  app.get('/http/mailboxes', async () => ({ mailboxes: runtime.summary() }))
  app.delete('/http/mailboxes', async () => ({ reset: runtime.reset() }))
}
