import type { LabClock } from '../core/clock.js'
import type { FaultEngine } from '../core/faults/engine.js'
import { eventWriter, type EventWriterOf } from '../core/journal/events.js'
import type { Journal, JournalEvent } from '../core/journal/journal.js'
import type { LabEvents } from './events.js'
import type { Logger } from '../core/logger.js'
import { parseDuration } from '../core/schema/common.js'
import { matches } from './scenario/expect.js'
import type { Scenario } from './scenario/model.js'

/**
 * A scenario's script run on the lab (issue 21): its steps in order, each armed when the one before has
 * fired, triggered by lab time since the script started (`at`), by a journal event (`on`) or at once, then
 * delayed (`after`, lab time), then acting on the lab as the admin API would. Every step is journaled as
 * `lab:script-step` with its name (a mark `expect:` rules can refer to). Time is the lab clock's, so a fast
 * or fast-forwarded clock runs a script of days in seconds.
 */

type Step = Scenario['script'][number]

export interface ScriptHost {
  readonly journal: Journal
  readonly clock: LabClock
  readonly faults: FaultEngine
  readonly logger: Logger
  /** Applies an overlay to the running lab. */
  overlay(overlay: Readonly<Record<string, unknown>>): Promise<void>
  /** Leaves a command for an emulated phone. */
  command(mac: string, command: 'reboot' | 'power-cycle' | 'hard-reset'): void
}

export interface ScriptStatus {
  readonly steps: number
  /** The steps that fired, by index, with the lab time they fired. */
  readonly fired: readonly { readonly step: number; readonly name?: string; readonly at: string }[]
  /** The step waiting to fire (undefined: done). */
  readonly next?: number
  readonly paused: boolean
}

export class ScriptRunner {
  readonly #host: ScriptHost
  readonly #record: EventWriterOf<LabEvents>
  readonly #steps: readonly Step[]
  readonly #fired: { step: number; name?: string; at: string }[] = []
  #next = 0
  #startedAt = 0
  #cancel: (() => void) | undefined
  #stopped = false
  #paused = false
  /** When the step before fired (lab time): an `after` with no trigger counts from it. */
  #lastFiredAt = 0

  constructor(host: ScriptHost, steps: readonly Step[]) {
    this.#host = host
    this.#record = eventWriter<LabEvents>(host.journal, 'lab')
    this.#steps = steps
  }

  start(): void {
    if (this.#steps.length === 0) return
    this.#startedAt = this.#host.clock.now()
    this.#lastFiredAt = this.#startedAt
    this.#arm()
  }

  stop(): void {
    this.#stopped = true
    this.#cancel?.()
    this.#cancel = undefined
  }

  status(): ScriptStatus {
    return {
      steps: this.#steps.length,
      fired: [...this.#fired],
      paused: this.#paused,
      ...(this.#next < this.#steps.length ? { next: this.#next } : {}),
    }
  }

  /** Holds the script: the step waiting to fire does not (its trigger is disarmed). */
  pause(): void {
    if (this.#paused) return
    this.#paused = true
    this.#cancel?.()
    this.#cancel = undefined
    this.#mark('paused')
  }

  /** Arms the waiting step again (an `at` step whose time has passed fires at once). */
  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#mark('resumed')
    this.#arm()
  }

  /** Passes over the waiting step without doing it, and arms the next. */
  skip(): void {
    if (this.#next >= this.#steps.length) return
    this.#cancel?.()
    this.#cancel = undefined
    const index = this.#next++
    this.#mark(`skipped step ${index + 1} ${this.#steps[index]!.name ?? ''}`.trim())
    if (!this.#paused) this.#arm()
  }

  /** Starts over from the first step (the lab stays as the steps left it). */
  restart(): void {
    this.#cancel?.()
    this.#cancel = undefined
    this.#next = 0
    this.#fired.length = 0
    this.#paused = false
    this.#mark('restarted')
    this.start()
  }

  #mark(what: string): void {
    this.#record('lab:script', {
      summary: `script ${what}`,
      detail: { what, next: this.#next },
    })
  }

  /** Waits for the next step's trigger. */
  #arm(): void {
    if (this.#stopped || this.#paused || this.#next >= this.#steps.length) return
    const step = this.#steps[this.#next]!
    const { clock, journal } = this.#host
    const fire = (trigger?: JournalEvent): void => {
      this.#cancel?.()
      this.#cancel = undefined
      const delay = step.after !== undefined ? parseDuration(step.after) : 0
      if (delay <= 0) return this.#run(step, trigger)
      const timer = clock.after(delay, () => this.#run(step, trigger))
      this.#cancel = () => timer.cancel()
    }
    if (step.on !== undefined) {
      const match = step.on
      // Run outside the journal's listener: the step's actions record events of their own.
      const device = step.device?.toLowerCase()
      const ofDevice = (e: JournalEvent): boolean =>
        device === undefined ||
        [e.device?.mac, e.device?.ip, e.device?.user].some((k) => k?.toLowerCase() === device)
      const off = journal.subscribe((e) => {
        if (matches(e, match) && ofDevice(e)) queueMicrotask(() => fire(e))
      })
      this.#cancel = off
    } else if (step.at !== undefined) {
      const at = this.#startedAt + parseDuration(step.at)
      const timer = clock.after(Math.max(0, at - clock.now()), () => fire())
      this.#cancel = () => timer.cancel()
    } else if (step.after !== undefined) {
      // After the step before: counted from when it fired, not from when its actions were done (a reload
      // takes wall time, in which a fast-forwarding phone moves lab time on).
      const timer = clock.at(this.#lastFiredAt + parseDuration(step.after), () => this.#run(step, undefined))
      this.#cancel = () => timer.cancel()
    } else queueMicrotask(() => fire())
  }

  /** Runs a step; a fast-forwarding phone waits for it before lab time moves on (its actions take no lab time). */
  #run(step: Step, trigger: JournalEvent | undefined): void {
    this.#host.clock
      .hold(this.#act(step, trigger))
      .catch((err: unknown) => this.#host.logger.warn({ err: (err as Error).message }, 'script step failed'))
  }

  async #act(step: Step, trigger: JournalEvent | undefined): Promise<void> {
    if (this.#stopped || this.#paused) return
    const index = this.#next
    this.#next++
    this.#lastFiredAt = this.#host.clock.now()
    const firedAt = new Date(this.#lastFiredAt).toISOString()
    const done: string[] = []
    const a = step.do ?? {}
    const host = this.#host
    try {
      if (a.fault) {
        host.faults.add(a.fault)
        done.push(`added fault${a.fault.id ? ` ${a.fault.id}` : ''}`)
      }
      if (a.removeFault !== undefined) {
        host.faults.remove(a.removeFault)
        done.push(`removed fault ${a.removeFault}`)
      }
      if (a.command) {
        host.command(a.command.mac, a.command.command)
        done.push(`${a.command.command} ${a.command.mac}`)
      }
      if (a.advanceClock !== undefined) {
        host.clock.advance(parseDuration(a.advanceClock))
        done.push(`clock advanced ${a.advanceClock}`)
      }
      if (a.overlay) {
        await host.overlay(a.overlay)
        done.push(`overlay applied (${Object.keys(a.overlay).join(', ')})`)
      }
      for (const [server, enabled] of [
        [a.stop, false],
        [a.start, true],
      ] as const) {
        if (server === undefined) continue
        await host.overlay({ servers: { [server]: { enabled } } })
        done.push(`${server} ${enabled ? 'started' : 'stopped'}`)
      }
    } catch (err) {
      done.push(`failed: ${(err as Error).message}`)
      host.logger.warn({ step: index, err: (err as Error).message }, 'script step failed')
    }
    const name = step.name ?? `step-${index + 1}`
    this.#fired.push({ step: index, name, at: firedAt })
    this.#record('lab:script-step', {
      summary: `script ${index + 1}/${this.#steps.length} ${name}${done.length ? `: ${done.join('; ')}` : ''}${trigger ? ` (on #${trigger.seq})` : ''}`,
      detail: { step: index, name, firedAt, actions: done, ...(trigger ? { trigger: trigger.seq } : {}) },
    })
    this.#arm()
  }
}
