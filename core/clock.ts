import { performance } from 'node:perf_hooks'

/** Something that tells the time: milliseconds since the Unix epoch. */
export interface Clock {
  now(): number
}

/** Where the lab's time stands: lab time and wall time at one instant, and how fast lab time runs. */
export interface ClockState {
  readonly labMs: number
  readonly wallMs: number
  /** Lab milliseconds per wall millisecond: 1 real time, 3600 an hour a second, 0 stopped. */
  readonly rate: number
}

/** A call planned at a lab time; `cancel` is idempotent. */
export interface LabTimer {
  cancel(): void
}

/** What changed the lab's time (journaled by the runtime). */
export type ClockChange =
  | { readonly kind: 'rate'; readonly from: number; readonly to: number }
  | { readonly kind: 'advance'; readonly byMs: number; readonly quiet?: boolean }

/** The most lab time one Node timer is set for: Node's timers hold 2^31−1 ms. */
const TIMER_MAX_MS = 2 ** 31 - 1

interface Planned {
  readonly at: number
  readonly seq: number
  readonly fn: () => void
}

/**
 * The lab's one clock, shared by every server, the journal and an emulated phone in the same process. Lab time
 * runs at `rate` times wall time from an anchor (sub-millisecond, monotonic: a step of the host clock during a
 * run does not make NTP answers jump), can be advanced at once, and carries timers planned in lab time, so a
 * registration that expires in 900 lab-seconds expires after 0.25 s at rate 3600, or at once when the clock
 * is advanced past it. Timers due at the same lab time run in the order they were planned.
 */
export class LabClock implements Clock {
  readonly #wall: () => number
  #wallAnchor: number
  #labAnchor: number
  #rate: number
  #departed: boolean
  readonly #timers: Planned[] = []
  #seq = 0
  #handle: NodeJS.Timeout | undefined
  readonly #listeners = new Set<(change: ClockChange) => void>()
  readonly #holds = new Set<Promise<void>>()

  constructor(
    options: { readonly startMs?: number; readonly rate?: number; readonly wall?: () => number } = {},
  ) {
    this.#wall = options.wall ?? wallClock
    this.#wallAnchor = this.#wall()
    this.#labAnchor = options.startMs ?? this.#wallAnchor
    this.#rate = checkRate(options.rate ?? 1)
    this.#departed = options.startMs !== undefined || this.#rate !== 1
  }

  now(): number {
    return this.#labAnchor + (this.#wall() - this.#wallAnchor) * this.#rate
  }

  /** Wall time now (the host's clock, monotonic from the lab's start). */
  wallNow(): number {
    return this.#wall()
  }

  get rate(): number {
    return this.#rate
  }

  /** Whether lab time has ever differed from wall time (then the journal records both). */
  get departed(): boolean {
    return this.#departed
  }

  state(): ClockState {
    const wallMs = this.#wall()
    return { labMs: this.#labAnchor + (wallMs - this.#wallAnchor) * this.#rate, wallMs, rate: this.#rate }
  }

  /** Runs lab time at `rate` lab milliseconds per wall millisecond from now on. */
  setRate(rate: number): void {
    const from = this.#rate
    this.#reanchor()
    this.#rate = checkRate(rate)
    if (rate !== 1) this.#departed = true
    this.#arm()
    this.#notify({ kind: 'rate', from, to: this.#rate })
  }

  /**
   * Moves lab time forward by `ms` at once; the timers it passes run, in lab-time order. `quiet`: a move that
   * is part of a run (a fast-forwarding phone), not an operator's act — listeners may leave it out.
   */
  advance(ms: number, options: { readonly quiet?: boolean } = {}): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`the lab clock only moves forward, not by ${ms} ms`)
    this.#reanchor()
    this.#labAnchor += ms
    if (ms > 0) this.#departed = true
    this.#drain()
    this.#notify({ kind: 'advance', byMs: ms, ...(options.quiet === true ? { quiet: true } : {}) })
  }

  /** Sets lab time (tests; forward or back — timers already due run). */
  set(ms: number): void {
    this.#reanchor()
    this.#labAnchor = ms
    this.#departed = true
    this.#drain()
  }

  /** Calls `fn` once lab time reaches `labMs`. */
  at(labMs: number, fn: () => void): LabTimer {
    const planned: Planned = { at: labMs, seq: this.#seq++, fn }
    let i = this.#timers.length
    while (i > 0 && laterThan(this.#timers[i - 1]!, planned)) i--
    this.#timers.splice(i, 0, planned)
    if (i === 0) this.#arm()
    return {
      cancel: () => {
        const k = this.#timers.indexOf(planned)
        if (k < 0) return
        this.#timers.splice(k, 1)
        if (k === 0) this.#arm()
      },
    }
  }

  /** Calls `fn` after `ms` of lab time. */
  after(ms: number, fn: () => void): LabTimer {
    return this.at(this.now() + ms, fn)
  }

  /** Resolves after `ms` of lab time, or early (resolving) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve()
      const onAbort = (): void => {
        timer.cancel()
        resolve()
      }
      const timer = this.after(ms, () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Marks `work` as lab business a fast-forwarding run waits for before it moves lab time on (a script step
   * applying an overlay): work that takes wall time then takes no lab time, as on a lab at real time.
   */
  hold<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    )
    this.#holds.add(settled)
    void settled.then(() => this.#holds.delete(settled))
    return work
  }

  /**
   * Moves lab time to `labMs` as a fast-forwarding run does: timer by timer, each run at its own lab time, and
   * after each the work it started and holds (`hold`) done before time moves on. Stops early when `signal`
   * aborts. Lab time never goes back: a target already passed only runs what is due.
   */
  async fastForward(labMs: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      await this.#settled()
      if (signal?.aborted) return
      const now = this.now()
      const next = this.#timers[0]
      const to = Math.max(now, next && next.at < labMs ? next.at : labMs)
      this.advance(to - now, { quiet: true })
      if (to >= labMs) return void (await this.#settled())
    }
  }

  /** Timers not yet run. */
  get pending(): number {
    return this.#timers.length
  }

  /** Tells `listener` of every rate change and advance; returns the unsubscribe. */
  onChange(listener: (change: ClockChange) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Stops the Node timer (the planned calls stay, and run if the clock is advanced). */
  [Symbol.dispose](): void {
    clearTimeout(this.#handle)
    this.#handle = undefined
  }

  async #settled(): Promise<void> {
    while (this.#holds.size > 0) await Promise.all(this.#holds)
  }

  #reanchor(): void {
    const wall = this.#wall()
    this.#labAnchor += (wall - this.#wallAnchor) * this.#rate
    this.#wallAnchor = wall
  }

  #drain(): void {
    clearTimeout(this.#handle)
    this.#handle = undefined
    // A timer that plans another already due runs it in this drain; the bound stops a timer that replans
    // itself at the same instant for ever.
    for (let n = 0; n < 1_000_000; n++) {
      const first = this.#timers[0]
      if (!first || first.at > this.now()) break
      this.#timers.shift()
      first.fn()
    }
    this.#arm()
  }

  #arm(): void {
    clearTimeout(this.#handle)
    this.#handle = undefined
    const first = this.#timers[0]
    if (!first) return
    const labWait = first.at - this.now()
    if (labWait <= 0) {
      this.#handle = setTimeout(() => this.#drain(), 0)
      return
    }
    if (this.#rate === 0) return
    this.#handle = setTimeout(() => this.#drain(), Math.min(TIMER_MAX_MS, Math.ceil(labWait / this.#rate)))
    this.#handle.unref()
  }

  #notify(change: ClockChange): void {
    for (const l of [...this.#listeners]) l(change)
  }
}

const laterThan = (a: Planned, b: Planned): boolean => a.at > b.at || (a.at === b.at && a.seq > b.seq)

function checkRate(rate: number): number {
  if (!Number.isFinite(rate) || rate < 0 || rate > 1_000_000)
    throw new RangeError(`a lab clock runs at 0 to 1000000 times real time, not ${rate}`)
  return rate
}

const anchor = performance.timeOrigin
const wallClock = (): number => anchor + performance.now()

/** The lab clock at real time (rate 1, lab time = wall time until someone moves it). */
export function systemClock(): LabClock {
  return new LabClock()
}

/** A stopped clock tests set and advance (its timers run only when it is advanced). */
export function manualClock(startMs: number): LabClock {
  return new LabClock({ startMs, rate: 0 })
}
