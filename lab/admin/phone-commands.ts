import { eventWriter, type EventWriterOf } from '../../core/journal/events.js'
import type { Journal } from '../../core/journal/journal.js'
import type { LabEvents } from '../events.js'

/** What an operator can do to a running emulated phone, as a person at its desk would. */
export const PHONE_COMMANDS = ['reboot', 'power-cycle', 'hard-reset'] as const
export type PhoneCommand = (typeof PHONE_COMMANDS)[number]

/**
 * Commands waiting for emulated phones, by MAC: the admin API (and `cx700-lab phone reboot MAC`) leaves one,
 * the living phone takes it — in the lab's process, or from another one through `GET /phones/:mac/commands`.
 * Bounded: at most a few commands per phone and a few thousand phones.
 */
export class PhoneCommands {
  readonly #waiting = new Map<string, PhoneCommand[]>()
  static readonly MAX_PHONES = 4_096
  static readonly MAX_PER_PHONE = 8

  readonly #record: EventWriterOf<LabEvents>

  constructor(readonly journal: Journal) {
    this.#record = eventWriter<LabEvents>(journal, 'lab')
  }

  /** Leaves a command for `mac`; false when the mailbox is full. */
  give(mac: string, command: PhoneCommand): boolean {
    const list = this.#waiting.get(mac) ?? []
    if (list.length >= PhoneCommands.MAX_PER_PHONE) return false
    if (!this.#waiting.has(mac) && this.#waiting.size >= PhoneCommands.MAX_PHONES) return false
    list.push(command)
    this.#waiting.set(mac, list)
    this.#record('lab:phone-command', {
      summary: `${command} asked of the emulated phone ${mac}`,
      detail: { mac, command },
      device: { mac },
    })
    return true
  }

  /** Takes the commands waiting for `mac`, oldest first. */
  take(mac: string): PhoneCommand[] {
    const list = this.#waiting.get(mac.toLowerCase()) ?? []
    this.#waiting.delete(mac.toLowerCase())
    return list
  }
}
