import { createHash } from 'node:crypto'
import type { User } from '../../core/site.js'

/**
 * The Exchange mailboxes the EWS double serves, built from the scenario's users (spec §4.2): contacts in the
 * Contacts folder (IPM.Contact), voice mails (IPM.Note.Microsoft.Voicemail.UM.CA, audio attached) and missed
 * calls (IPM.Note.Microsoft.Missed.Voice) in the Inbox; the `voicemail` folder is Exchange 2007's search
 * folder over the Inbox's voice mails. Pure state: marking read and deleting change it, nothing else does.
 */

/** The distinguished folders of an Exchange 2007 SP1 mailbox (EWS DistinguishedFolderIdNameType). */
export const FOLDER_NAMES = [
  'root',
  'msgfolderroot',
  'calendar',
  'contacts',
  'deleteditems',
  'drafts',
  'inbox',
  'journal',
  'junkemail',
  'notes',
  'outbox',
  'sentitems',
  'tasks',
  'searchfolders',
  'voicemail',
] as const
export type FolderName = (typeof FOLDER_NAMES)[number]

/** A folder's EWS element: its kind of folder. */
export type FolderElement = 'Folder' | 'CalendarFolder' | 'ContactsFolder' | 'SearchFolder' | 'TasksFolder'

/**
 * Every distinguished folder as Exchange 2007 SP1 creates a mailbox: the root, the IPM subtree ("Top of
 * Information Store") with the default folders, and the search folders' root ("Finder") under the root,
 * which holds Unified Messaging's Voice Mail search folder (over the Inbox's voice mails).
 */
export const FOLDERS: Readonly<
  Record<FolderName, { displayName: string; className?: string; element: FolderElement; parent?: FolderName }>
> = {
  root: { displayName: '', element: 'Folder' },
  msgfolderroot: { displayName: 'Top of Information Store', element: 'Folder', parent: 'root' },
  calendar: {
    displayName: 'Calendar',
    className: 'IPF.Appointment',
    element: 'CalendarFolder',
    parent: 'msgfolderroot',
  },
  contacts: {
    displayName: 'Contacts',
    className: 'IPF.Contact',
    element: 'ContactsFolder',
    parent: 'msgfolderroot',
  },
  deleteditems: {
    displayName: 'Deleted Items',
    className: 'IPF.Note',
    element: 'Folder',
    parent: 'msgfolderroot',
  },
  drafts: { displayName: 'Drafts', className: 'IPF.Note', element: 'Folder', parent: 'msgfolderroot' },
  inbox: { displayName: 'Inbox', className: 'IPF.Note', element: 'Folder', parent: 'msgfolderroot' },
  journal: { displayName: 'Journal', className: 'IPF.Journal', element: 'Folder', parent: 'msgfolderroot' },
  junkemail: {
    displayName: 'Junk E-mail',
    className: 'IPF.Note',
    element: 'Folder',
    parent: 'msgfolderroot',
  },
  notes: { displayName: 'Notes', className: 'IPF.StickyNote', element: 'Folder', parent: 'msgfolderroot' },
  outbox: { displayName: 'Outbox', className: 'IPF.Note', element: 'Folder', parent: 'msgfolderroot' },
  sentitems: { displayName: 'Sent Items', className: 'IPF.Note', element: 'Folder', parent: 'msgfolderroot' },
  tasks: { displayName: 'Tasks', className: 'IPF.Task', element: 'TasksFolder', parent: 'msgfolderroot' },
  searchfolders: { displayName: 'Finder', element: 'Folder', parent: 'root' },
  voicemail: {
    displayName: 'Voice Mail',
    className: 'IPF.Note',
    element: 'SearchFolder',
    parent: 'searchfolders',
  },
}

/** The folders directly below a folder, in the order above. */
export function subfolders(name: FolderName): FolderName[] {
  return FOLDER_NAMES.filter((f) => FOLDERS[f].parent === name)
}

export const ITEM_CLASS = {
  contact: 'IPM.Contact',
  appointment: 'IPM.Appointment',
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
  folder: 'inbox' | 'contacts' | 'calendar' | 'deleteditems'
  readonly itemClass: string
  readonly subject: string
  readonly received: Date
  isRead: boolean
  readonly from?: { readonly name: string; readonly phone?: string; readonly email?: string }
  readonly body: string
  readonly attachment?: Attachment
  readonly durationSeconds?: number
  /** A calendar item's time and place. */
  readonly appointment?: { readonly start: Date; readonly end: Date; readonly location: string }
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
  user.mailbox.calendar.forEach((c, i) => {
    const start = new Date(Date.parse(c.start))
    items.push({
      id: itemId(owner, 'appointment', i),
      version: 1,
      kind: 'appointment',
      folder: 'calendar',
      itemClass: ITEM_CLASS.appointment,
      subject: c.subject,
      received: new Date(now - (i + 1) * 24 * HOUR),
      isRead: true,
      body: '',
      appointment: {
        start,
        end: new Date(start.getTime() + c.durationMinutes * 60_000),
        location: c.location ?? '',
      },
    })
  })
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
