import type { LabClock, LabTimer } from '../../core/clock.js'
import { LabDecodeError } from '../../core/errors.js'
import { eventWriter } from '../../core/journal/events.js'
import type { Journal } from '../../core/journal/journal.js'
import type { HttpEvents } from './events.js'
import type { User } from '../../core/site.js'

/** One entry of the device address book. */
export interface AbsEntry {
  readonly sipAddress: string
  readonly displayName: string
  readonly email: string
}

/**
 * The lab's device address-book file (ADR 0013). OCS 2007 R2's ABServer writes `.dabs` files for devices in
 * the compressed binary format of [MS-ABS], which the lab does not write yet; it serves the same file names at the same URLs on the same
 * schedule, with a documented text body instead: a first line `CX700LAB-DABS/1 <generated ISO time>`, then
 * one `sip<TAB>display name<TAB>e-mail` line per entry, UTF-8. A hardware phone will download it and find
 * nothing it can read; the emulator reads it.
 */
const MAGIC = 'CX700LAB-DABS/1'

export function encodeDabs(entries: readonly AbsEntry[], generatedAt: Date): Buffer {
  const clean = (s: string): string => s.replace(/[\t\r\n]/g, ' ')
  const lines = entries.map((e) => [e.sipAddress, e.displayName, e.email].map(clean).join('\t'))
  return Buffer.from([`${MAGIC} ${generatedAt.toISOString()}`, ...lines].join('\n') + '\n', 'utf8')
}

export function decodeDabs(bytes: Uint8Array): { generatedAt: string; entries: AbsEntry[] } {
  const text = Buffer.from(bytes).toString('utf8')
  const [head = '', ...lines] = text.split('\n')
  const [magic, generatedAt = ''] = head.split(' ')
  if (magic !== MAGIC)
    throw new LabDecodeError('LAB_ERR_ABS_DECODE', `not a lab address book: "${head.slice(0, 40)}"`, 0)
  const entries: AbsEntry[] = []
  for (const line of lines) {
    if (line === '') continue
    const [sipAddress = '', displayName = '', email = ''] = line.split('\t')
    entries.push({ sipAddress, displayName, email })
  }
  return { generatedAt, entries }
}

/**
 * The number in an address-book file's name: the 0-based count of days after 2001-01-01 00:00 UTC ([MS-ABS]
 * §1.3; F-0A8C is 2008-05-24, and §3.1's example F-0A10 is 2008-01-21).
 */
export function absDay(ms: number): number {
  return Math.floor((ms - Date.UTC(2001, 0, 1)) / 86_400_000)
}

/** The full device file of a day: `F-XXXX.dabs`, four hexadecimal digits ([MS-ABS] §1.3). */
export const fullFileName = (day: number): string =>
  `F-${day.toString(16).toUpperCase().padStart(4, '0')}.dabs`

interface Generated {
  readonly day: number
  readonly generatedAt: number
  readonly bytes: Buffer
  readonly entries: number
}

/**
 * The Address Book Server of the pool (OCS 2007 R2's ABServer.exe): a full file from the directory's users
 * at its first start and then once a day at `runTime` (01:30 by default, as ABServer runs), in lab time. A
 * user added to the scenario appears in the next day's file — the up-to-24-hours latency of spec §5 (F27).
 * The newest 30 files are kept, as ABServer keeps 30 days.
 */
export class AddressBook {
  readonly #journal: Journal
  #users: readonly User[] = []
  readonly #files: Generated[] = []
  #timer: LabTimer | undefined
  #runTime = '01:30'
  #clock: LabClock | undefined

  constructor(journal: Journal) {
    this.#journal = journal
  }

  /** The users the directory has now and when the daily pass runs; the first call generates a file. */
  follow(users: readonly User[], runTime: string, clock: LabClock): void {
    this.#users = users
    const moved = runTime !== this.#runTime || clock !== this.#clock
    this.#runTime = runTime
    this.#clock = clock
    if (this.#files.length === 0) this.#generate('first start')
    if (moved || !this.#timer) this.#plan()
  }

  /** The bytes of a file by name, if it was generated and is kept. */
  file(name: string): Generated | undefined {
    return this.#files.find((f) => fullFileName(f.day).toLowerCase() === name.toLowerCase())
  }

  stop(): void {
    this.#timer?.cancel()
    this.#timer = undefined
  }

  #plan(): void {
    this.#timer?.cancel()
    const clock = this.#clock
    if (!clock) return
    const [h = 1, m = 30] = this.#runTime.split(':').map(Number)
    const now = clock.now()
    const today = new Date(now)
    let at = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), h, m)
    if (at <= now) at += 86_400_000
    this.#timer = clock.at(at, () => {
      this.#generate(`daily pass at ${this.#runTime}`)
      this.#plan()
    })
  }

  #generate(why: string): void {
    const now = this.#clock?.now() ?? Date.now()
    const entries = this.#users.map((u) => ({
      sipAddress: u.signInAddress,
      displayName: u.displayName,
      email: u.email,
    }))
    const day = absDay(now)
    const file: Generated = {
      day,
      generatedAt: now,
      bytes: encodeDabs(entries, new Date(now)),
      entries: entries.length,
    }
    const same = this.#files.findIndex((f) => f.day === day)
    if (same >= 0) this.#files.splice(same, 1)
    this.#files.push(file)
    if (this.#files.length > 30) this.#files.shift()
    eventWriter<HttpEvents>(this.#journal, 'http')('http:abs-generated', {
      summary: `address book ${fullFileName(day)}: ${entries.length} entries (${why})`,
      detail: { file: fullFileName(day), entries: entries.length, why },
    })
  }
}
