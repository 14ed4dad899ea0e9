import { createHash } from 'node:crypto'
import type { User } from '../../core/site.js'

/**
 * The Exchange mailboxes the EWS double serves, built from the scenario's users (spec §4.2): contacts in the
 * Contacts folder (IPM.Contact), voice mails (IPM.Note.Microsoft.Voicemail.UM.CA, audio attached) and missed
 * calls (IPM.Note.Microsoft.Missed.Voice) in the Inbox; the `voicemail` folder is Exchange 2007's search
 * folder over the Inbox's voice mails. Pure state: marking read and deleting change it, nothing else does.
 */

export type FolderName = 'root' | 'msgfolderroot' | 'inbox' | 'contacts' | 'voicemail' | 'deleteditems'
/** The folders the double has; `voicemail` is a search folder (over the Inbox's voice mails). */
export const FOLDERS: Readonly<
  Record<
    FolderName,
    {
      displayName: string
      className?: string
      element: 'Folder' | 'ContactsFolder' | 'SearchFolder'
      /** How many folders are below it. */
      children: number
    }
  >
> = {
  // The mailbox's root and the top of its IPM subtree ("Top of Information Store"), as Exchange 2007 names them.
  root: { displayName: '', element: 'Folder', children: 1 },
  msgfolderroot: { displayName: 'Top of Information Store', element: 'Folder', children: 3 },
  inbox: { displayName: 'Inbox', className: 'IPF.Note', element: 'Folder', children: 0 },
  contacts: { displayName: 'Contacts', className: 'IPF.Contact', element: 'ContactsFolder', children: 0 },
  voicemail: { displayName: 'Voice Mail', className: 'IPF.Note', element: 'SearchFolder', children: 0 },
  deleteditems: { displayName: 'Deleted Items', className: 'IPF.Note', element: 'Folder', children: 0 },
}

export const ITEM_CLASS = {
  contact: 'IPM.Contact',
  voicemail: 'IPM.Note.Microsoft.Voicemail.UM.CA',
  missed: 'IPM.Note.Microsoft.Missed.Voice',
} as const

export interface Attachment {
  readonly id: string
  readonly name: string
  readonly contentType: string
  /** A WAV file the scenario names (absolute path), or undefined for a generated tone. */
  readonly file?: string
  readonly durationSeconds: number
}

export interface MailItem {
  readonly id: string
  /** Grows with every change (the EWS ChangeKey). */
  version: number
  readonly kind: keyof typeof ITEM_CLASS
  folder: 'inbox' | 'contacts' | 'deleteditems'
  readonly itemClass: string
  readonly subject: string
  readonly received: Date
  isRead: boolean
  readonly from?: { readonly name: string; readonly phone?: string; readonly email?: string }
  readonly body: string
  readonly attachment?: Attachment
  readonly durationSeconds?: number
}

/** A stable opaque id, as EWS ids are: base64 of a hash of the owner, kind and position. */
function itemId(owner: string, kind: string, index: number): string {
  return createHash('sha256')
    .update(`${owner}\0${kind}\0${index}`)
    .digest()
    .subarray(0, 24)
    .toString('base64')
}

const HOUR = 3_600_000

/** Builds a user's mailbox: items newest first, times from the scenario or hours before `now`. */
export function buildMailbox(user: User, now: number): Mailbox {
  const items: MailItem[] = []
  const owner = user.email
  user.mailbox.contacts.forEach((c, i) =>
    items.push({
      id: itemId(owner, 'contact', i),
      version: 1,
      kind: 'contact',
      folder: 'contacts',
      itemClass: ITEM_CLASS.contact,
      subject: c.name,
      received: new Date(now - (i + 1) * 24 * HOUR),
      isRead: true,
      from: { name: c.name, ...(c.phone ? { phone: c.phone } : {}), ...(c.email ? { email: c.email } : {}) },
      body: '',
    }),
  )
  user.mailbox.voicemail.forEach((v, i) => {
    const id = itemId(owner, 'voicemail', i)
    items.push({
      id,
      version: 1,
      kind: 'voicemail',
      folder: 'inbox',
      itemClass: ITEM_CLASS.voicemail,
      subject: v.subject ?? `Voice Mail from ${v.from} (${v.durationSeconds} seconds)`,
      received: new Date(v.at !== undefined ? Date.parse(v.at) : now - (2 * i + 1) * HOUR),
      isRead: !v.unread,
      from: { name: v.from, ...(v.phone ? { phone: v.phone } : {}) },
      body: `You received a voice mail from ${v.from}${v.phone ? ` at ${v.phone}` : ''}.`,
      durationSeconds: v.durationSeconds,
      attachment: {
        id: `${id}A`,
        name: 'audio.wav',
        contentType: 'audio/wav',
        durationSeconds: v.durationSeconds,
        ...(v.audio !== undefined ? { file: v.audio } : {}),
      },
    })
  })
  user.mailbox.missedCalls.forEach((m, i) =>
    items.push({
      id: itemId(owner, 'missed', i),
      version: 1,
      kind: 'missed',
      folder: 'inbox',
      itemClass: ITEM_CLASS.missed,
      subject: `Missed call from ${m.from}`,
      received: new Date(m.at !== undefined ? Date.parse(m.at) : now - (2 * i + 2) * HOUR),
      isRead: !m.unread,
      from: { name: m.from, ...(m.phone ? { phone: m.phone } : {}) },
      body: `You missed a call from ${m.from}${m.phone ? ` at ${m.phone}` : ''}.`,
    }),
  )
  items.sort((a, b) => b.received.getTime() - a.received.getTime())
  return new Mailbox(user, items)
}

export class Mailbox {
  readonly #items = new Map<string, MailItem>()
  constructor(
    readonly user: User,
    items: readonly MailItem[],
  ) {
    for (const i of items) this.#items.set(i.id, i)
  }

  /** The items of a folder, newest first. */
  folder(name: FolderName): MailItem[] {
    const out: MailItem[] = []
    for (const i of this.#items.values()) {
      if (name === 'voicemail' ? i.kind === 'voicemail' && i.folder === 'inbox' : i.folder === name)
        out.push(i)
    }
    return out
  }

  item(id: string): MailItem | undefined {
    return this.#items.get(id)
  }

  /** The item an attachment id belongs to. */
  attachment(id: string): { item: MailItem; attachment: Attachment } | undefined {
    for (const item of this.#items.values())
      if (item.attachment?.id === id) return { item, attachment: item.attachment }
    return undefined
  }

  markRead(id: string, isRead: boolean): MailItem | undefined {
    const item = this.#items.get(id)
    if (item) {
      item.isRead = isRead
      item.version++
    }
    return item
  }

  /** Deletes an item: for good, or (MoveToDeletedItems) into Deleted Items. */
  delete(id: string, how: 'hard' | 'move'): boolean {
    const item = this.#items.get(id)
    if (!item) return false
    if (how === 'hard' || item.folder === 'deleteditems') this.#items.delete(id)
    else {
      item.folder = 'deleteditems'
      item.version++
    }
    return true
  }
}

/** A 16-bit mono 8 kHz PCM WAV of a quiet 440 Hz tone, as long as the voice mail (at most 10 minutes). */
export function toneWav(seconds: number): Buffer {
  const rate = 8000
  const samples = Math.min(Math.max(seconds, 0), 600) * rate
  const out = Buffer.alloc(44 + samples * 2)
  out.write('RIFF', 0, 'latin1')
  out.writeUInt32LE(36 + samples * 2, 4)
  out.write('WAVEfmt ', 8, 'latin1')
  out.writeUInt32LE(16, 16)
  out.writeUInt16LE(1, 20) // PCM
  out.writeUInt16LE(1, 22) // mono
  out.writeUInt32LE(rate, 24)
  out.writeUInt32LE(rate * 2, 28)
  out.writeUInt16LE(2, 32)
  out.writeUInt16LE(16, 34)
  out.write('data', 36, 'latin1')
  out.writeUInt32LE(samples * 2, 40)
  for (let i = 0; i < samples; i++)
    out.writeInt16LE(Math.round(4000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2)
  return out
}
