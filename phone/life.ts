import { performance } from 'node:perf_hooks'
import type { LabClock } from '../core/clock.js'
import type { PhoneCommand } from '../lab/admin/phone-commands.js'
import { PhoneContext, type EndState, type PhoneOptions, type PhoneReport } from './context.js'
import { renewLease } from './dhcp.js'
import { powerOn, signIn, type SignedIn } from './emulator.js'
import { ntpOffset } from './ntp.js'
import { downloadAddressBook } from './stages/address-book.js'
import { autodiscover, pollVoicemail } from './stages/exchange.js'
import type { PhoneHttp } from './http.js'
import { updateCheck } from './stages/update.js'

/**
 * How the phone paces its life (spec §5). Facts are defaults as the spec gives them; the GUESSes (§10) are
 * knobs with the best guess as default.
 */
export interface LifeTimings {
  /** Re-REGISTER once this share of the granted Expires has passed (GUESS: half, as SIP UAs commonly do). */
  readonly reRegisterAt: number
  /** A CRLF keep-alive this often, seconds (GUESS: half the pool's ms-keep-alive timeout of 300 s). */
  readonly keepAliveS: number
  /**
   * The voice-mail (message waiting) poll over EWS, seconds, when the pool provisions no ucExchangeMwiPoll
   * (GUESS: that property is in minutes).
   */
  readonly ewsPollS: number
  /** Update check, Autodiscover refresh, address-book download: every 24 h (FACT S1c, S29). */
  readonly dailyS: number
  /** NTP resync, seconds (GUESS: hourly). */
  readonly ntpResyncS: number
  /** How long a reboot takes before DHCP starts again, seconds (GUESS). */
  readonly rebootS: number
  /** How long the phone stays idle after a download before it installs and reboots, seconds (GUESS). */
  readonly installIdleS: number
  /** How long before the phone tries again after losing the pool or failing to sign in, seconds (GUESS). */
  readonly retryS: number
}

export const DEFAULT_TIMINGS: LifeTimings = {
  reRegisterAt: 0.5,
  keepAliveS: 150,
  ewsPollS: 180,
  dailyS: 86_400,
  ntpResyncS: 3_600,
  rebootS: 60,
  installIdleS: 60,
  retryS: 60,
}

export type { PhoneCommand }

export interface LifeOptions extends PhoneOptions {
  readonly clock: LabClock
  readonly timings?: Partial<LifeTimings>
  /** Stop after this much lab time (ms); unset: until stopped. */
  readonly liveForMs?: number
  /** Stop after this many loops (F10 sign-in retries, F16 crash reboots): the spec's loops are endless. */
  readonly maxLoops?: number
  /**
   * Run alone on the lab clock: instead of waiting, move the clock on to the phone's next timer (stories that
   * span days verify in seconds; only for one phone per lab).
   */
  readonly fastForward?: boolean
  /** Commands waiting for this phone (an admin API mailbox); asked at every wake-up. */
  readonly commands?: () => Promise<readonly PhoneCommand[]> | readonly PhoneCommand[]
  /** Called after each boot (sign-in attempt) with its report. */
  readonly onBoot?: (report: PhoneReport) => void
  /**
   * Changes to the phone's world at lab times after the start (ms): each runs when the phone reaches it while
   * waiting (the lab is changed, then the phone goes on), and may give the phone a command.
   */
  readonly milestones?: readonly Milestone[]
}

export interface Milestone {
  /** Lab ms after the life began. */
  readonly afterMs: number
  readonly run: () => Promise<PhoneCommand | undefined>
}

/** How a life ended, and what it went through. */
export interface LifeReport {
  readonly mac: string
  readonly boots: readonly PhoneReport[]
  /** Sign-in attempts that looped (F10) or crashed and rebooted (F16). */
  readonly loops: number
  readonly reboots: number
  /** The end state of the last boot. */
  readonly endState: EndState
  /** Why the life ended: its time ran out, the loop cap, or it was stopped. */
  readonly stopped: 'time' | 'loops' | 'stopped'
  readonly firmware: string
}

/** Why the phone left the signed-in state. */
type Leave = PhoneCommand | 'install' | 'lost-pool' | 'lost-address' | 'time' | 'stopped'

/**
 * A CX700 that lives on after sign-in (spec §5, §6): it keeps its TLS connection to the pool, sends
 * keep-alives, re-REGISTERs before Expires, polls EWS, runs the daily cycle (update check, Autodiscover
 * refresh, address-book download), renews its lease at T1, resyncs NTP; installs a downloaded update when
 * idle and reboots; loops as the firmware and the lab make it loop (F10, F16), capped. All timing is in lab
 * time, so a fast or advanced lab clock lives days in seconds. Reboot, power-cycle and hard reset come as
 * commands.
 */
export class LivingPhone {
  readonly timings: LifeTimings
  readonly boots: PhoneReport[] = []
  loops = 0
  reboots = 0
  readonly #options: LifeOptions
  readonly #clock: LabClock
  #wake = new AbortController()
  #stopped = false
  #pending: PhoneCommand[] = []
  #milestones: { at: number; run: Milestone['run'] }[] = []

  constructor(options: LifeOptions) {
    this.#options = options
    this.#clock = options.clock
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings }
  }

  /** Asks the phone to stop (it leaves at its next wake-up; the pool connection is closed). */
  stop(): void {
    this.#stopped = true
    this.#wake.abort()
  }

  /** A command from the operator, taken at once. */
  command(c: PhoneCommand): void {
    this.#pending.push(c)
    this.#wake.abort()
  }

  async run(): Promise<LifeReport> {
    const start = this.#clock.now()
    const until = this.#options.liveForMs === undefined ? Infinity : start + this.#options.liveForMs
    this.#milestones = [...(this.#options.milestones ?? [])]
      .sort((a, b) => a.afterMs - b.afterMs)
      .map((m) => ({ at: start + m.afterMs, run: m.run }))
    // A phone whose only timers are lab timers must not let the process end under it.
    const keep = setInterval(() => undefined, 1 << 30)
    try {
      return await this.#live(until)
    } finally {
      clearInterval(keep)
    }
  }

  async #live(until: number): Promise<LifeReport> {
    let network: SignedIn['network'] | undefined
    let last: EndState = 'no-address'
    const end = (stopped: LifeReport['stopped']): LifeReport => ({
      mac: this.#options.mac,
      boots: this.boots,
      loops: this.loops,
      reboots: this.reboots,
      endState: last,
      stopped,
      firmware: this.#options.state.firmware,
    })
    for (;;) {
      if (this.#stopped) return end('stopped')
      if (this.#clock.now() >= until) return end('time')
      const ctx = this.#context()
      if (!network) {
        const on = await powerOn(ctx)
        if ('end' in on) {
          last = this.#booted(ctx, on.end)
          const why = await this.#wait(this.timings.retryS, until)
          if (why === 'stopped' || why === 'time') return end(why === 'time' ? 'time' : 'stopped')
          this.#obey(why)
          continue
        }
        network = on.next
        if (this.#options.state.pendingFirmware) {
          // Downloaded at power-on, before anyone signed in: the phone is idle, so it installs and reboots.
          const why = await this.#wait(this.timings.installIdleS, until)
          if (why === 'stopped' || why === 'time') return end(why === 'time' ? 'time' : 'stopped')
          this.#install(ctx)
          last = this.#booted(ctx, 'updating')
          network = undefined
          this.reboots++
          if ((await this.#wait(this.timings.rebootS, until)) === 'stopped') return end('stopped')
          continue
        }
      }
      const result = await signIn(ctx, network)
      last = this.#booted(ctx, result.end)
      const looping = result.end === 'certificate-loop' || result.end === 'crashed-after-sign-in'
      if (looping && ++this.loops >= (this.#options.maxLoops ?? Infinity)) return end('loops')
      let leave: Leave | 'time-passed'
      if (result.session) leave = await this.#signedIn(ctx, result.session, until)
      else if (result.end === 'crashed-after-sign-in') {
        // F16: the phone reboots (DHCP again) and gets almost to the end of the login again.
        network = undefined
        this.reboots++
        leave = await this.#wait(this.timings.rebootS, until)
      } else if (result.end === 'certificate-loop') {
        // F10: the installed root cannot validate the pool; the phone starts over — Locating DC →
        // Downloading → Installing → Connecting — fetching the root again (spec S8).
        this.#options.state.clearRoots()
        leave = await this.#wait(this.timings.retryS, until)
      } else if (result.end === 'pool-not-found') {
        // The pool was not there (no target answered, or it answered 5xx): tried again later, with the lease.
        leave = await this.#wait(this.timings.retryS, until)
      } else leave = await this.#wait(Infinity, until) // the error stays on screen until someone acts
      if (leave === 'time' || leave === 'stopped') return end(leave === 'time' ? 'time' : 'stopped')
      if (leave === 'lost-pool') await this.#wait(this.timings.retryS, until)
      if (leave === 'install' || leave === 'lost-address' || this.#obey(leave)) {
        network = undefined
        if (leave === 'install') this.#install(ctx)
        this.reboots++
        if ((await this.#wait(this.timings.rebootS, until)) === 'stopped') return end('stopped')
      }
    }
  }

  /** Carries out a command that arrived while waiting; true when the phone reboots for it. */
  #obey(why: Leave | 'time-passed'): boolean {
    if (why !== 'reboot' && why !== 'power-cycle' && why !== 'hard-reset') return false
    if (why === 'hard-reset') this.#options.state.hardReset()
    return true
  }

  #install(ctx: PhoneContext): void {
    const s = this.#options.state
    if (!s.pendingFirmware) return
    ctx.step('install', true, `installed ${s.pendingFirmware} over ${s.firmware} while idle; rebooting`)
    s.firmware = s.pendingFirmware
    s.pendingFirmware = undefined
    s.save()
  }

  #context(): PhoneContext {
    return new PhoneContext({ ...this.#options, clock: this.#clock })
  }

  #booted(ctx: PhoneContext, end: EndState): EndState {
    this.#options.state.save()
    const report = ctx.report(end)
    this.boots.push(report)
    this.#options.onBoot?.(report)
    return end
  }

  /**
   * Signed in: the phone's timers in lab-time order until it leaves (a command, an update to install, the pool
   * or the address lost, its time up). The SIP connection's own work (re-REGISTER, keep-alive) is done in turn
   * here; the rest (EWS polls, the daily cycle, NTP, the lease) runs beside it, as on the phone, so a slow EWS
   * poll never makes a registration lapse. One of each at a time.
   */
  async #signedIn(ctx: PhoneContext, session: SignedIn, until: number): Promise<Leave> {
    const t = this.timings
    const { sip, network } = session
    let lease = network.lease
    let leaseStart = this.#clock.now()
    let ewsConnection: PhoneHttp | undefined
    const onClose = (): void => this.#wake.abort()
    sip.socket.once('close', onClose)
    const side = new Map<string, Promise<void>>()
    let sideLeave: Leave | undefined
    /** Runs a side task unless one of its kind is still running; a task may make the phone leave. */
    const beside = (name: string, task: () => Promise<Leave | undefined>): void => {
      if (side.has(name)) return
      const running = task()
        .then((leave) => {
          if (leave && !sideLeave) {
            sideLeave = leave
            this.#wake.abort()
          }
        })
        .finally(() => side.delete(name))
      side.set(name, running)
    }
    const mwiMinutes = Number(session.props.ucExchangeMwiPoll)
    const ewsPollMs = (mwiMinutes > 0 ? mwiMinutes * 60 : t.ewsPollS) * 1000
    const now = this.#clock.now()
    const due = new Map<string, number>([
      // The refresh counts from the REGISTER, not from the end of the sign-in's other steps.
      ['re-register', session.registeredAt + session.expiresS * 1000 * t.reRegisterAt],
      ['keep-alive', now + t.keepAliveS * 1000],
      // The address book is downloaded at sign-in, then with the daily cycle (§4.3, §5).
      ['address-book', now],
      ['daily', now + t.dailyS * 1000],
      ['ntp', now + t.ntpResyncS * 1000],
      ['renew', now + lease.renewSeconds * 1000],
    ])
    if (typeof ctx.learnt.ewsUrl === 'string') due.set('ews', now + ewsPollMs)
    if (this.#options.state.pendingFirmware) due.set('install', now + t.installIdleS * 1000)
    try {
      for (;;) {
        const [task, at] = [...due.entries()].reduce((a, b) => (b[1] < a[1] ? b : a))
        const why = await this.#wait((at - this.#clock.now()) / 1000, until)
        if (sideLeave) return sideLeave
        if (why !== 'time-passed') return why
        if (sip.closed) {
          ctx.step('pool', false, 'the pool closed the connection')
          return 'lost-pool'
        }
        const c = this.#clock.now()
        switch (task) {
          case 're-register': {
            const a = await sip.refresh(ctx.timeoutMs * 2)
            const expires = Number(a?.headers.get('expires') ?? session.expiresS) || session.expiresS
            ctx.step('re-register', a?.status === 200, `REGISTER → ${a?.status ?? 'no answer'}`)
            if (a?.status !== 200) return 'lost-pool'
            due.set(task, c + expires * 1000 * t.reRegisterAt)
            break
          }
          case 'keep-alive':
            if (!(await sip.keepAlive(ctx.timeoutMs))) {
              ctx.step('keep-alive', false, 'no pong from the pool')
              return 'lost-pool'
            }
            due.set(task, c + t.keepAliveS * 1000)
            break
          case 'address-book': {
            const abs = session.props.absInternalServerUrl
            if (abs) beside(task, async () => void (await downloadAddressBook(ctx, network, abs)))
            due.delete(task)
            break
          }
          case 'ews':
            beside(task, async () => {
              ewsConnection = await pollVoicemail(ctx, network, String(ctx.learnt.ewsUrl), ewsConnection)
              return undefined
            })
            due.set(task, c + ewsPollMs)
            break
          case 'daily':
            beside(task, async () => {
              await this.#daily(ctx, session)
              if (this.#options.state.pendingFirmware && !due.has('install'))
                due.set('install', this.#clock.now() + t.installIdleS * 1000)
              return undefined
            })
            due.set(task, c + t.dailyS * 1000)
            break
          case 'ntp':
            beside(task, async () => {
              await this.#resyncClock(ctx)
              return undefined
            })
            due.set(task, c + t.ntpResyncS * 1000)
            break
          case 'renew':
          case 'rebind':
            beside('lease', async () => {
              const renewed = await renewLease(ctx.net, this.#options.mac, lease, {
                accept119: ctx.guesses.option119,
                timeoutMs: ctx.timeoutMs,
                rebinding: task === 'rebind',
              })
              ctx.step(
                `dhcp-${task}`,
                renewed !== undefined,
                renewed ? `${renewed.address} extended` : 'no ACK',
              )
              const at = this.#clock.now()
              if (renewed) {
                lease = renewed
                leaseStart = at
                due.set('renew', at + lease.renewSeconds * 1000)
              } else if (task === 'renew') due.set('rebind', leaseStart + lease.rebindSeconds * 1000)
              else due.set('lease-end', leaseStart + lease.leaseSeconds * 1000)
              return undefined
            })
            due.delete(task)
            break
          case 'lease-end':
            ctx.step('dhcp', false, `the lease of ${lease.address} ran out`)
            return 'lost-address'
          case 'install':
            return 'install'
        }
        // A phone alone on a fast-forwarded clock does one thing at a time: lab time jumps only while it waits.
        if (this.#options.fastForward) await Promise.allSettled(side.values())
      }
    } finally {
      sip.socket.off('close', onClose)
      sip.close()
      await Promise.allSettled(side.values())
      ewsConnection?.close()
    }
  }

  /** NTP again, from the server the sign-in found (§2.3). */
  async #resyncClock(ctx: PhoneContext): Promise<void> {
    const server = ctx.learnt.ntpServer
    const o =
      typeof server === 'string' ? await ntpOffset(ctx.net, server, ctx.timeoutMs, this.#clock) : undefined
    ctx.step(
      'ntp-resync',
      o !== undefined && 'offsetMs' in o,
      o && 'problem' in o ? o.problem : 'clock resynced',
    )
    if (o && 'offsetMs' in o) this.#options.state.clockOffsetMs = o.offsetMs
  }

  /** The 24-hour cycle (§5): the update check, the Autodiscover refresh, the address-book download. */
  async #daily(ctx: PhoneContext, session: SignedIn): Promise<void> {
    const { network, props } = session
    const dus = this.#options.state.dusUrl
    if (dus) await updateCheck(ctx, network, dus, 'update (daily)')
    const email = props.primaryEmailAddress
    if (email && props.exumEnabled !== 'false') {
      const url = await autodiscover(ctx, network, email)
      if (url !== undefined) ctx.learnt.ewsUrl = url
    }
    const abs = props.absInternalServerUrl
    if (abs) await downloadAddressBook(ctx, network, abs)
  }

  /**
   * Waits `seconds` of lab time (fast-forwarding the lab clock when the phone lives alone), or less: a
   * command, a stop, the pool closing, or the end of the phone's time. Milestones on the way run in order.
   */
  async #wait(seconds: number, until: number): Promise<Leave | 'time-passed'> {
    await this.#collectCommands()
    const first = (): Leave | undefined => (this.#stopped ? 'stopped' : this.#pending.shift())
    const wakeAt = Math.min(this.#clock.now() + Math.max(0, seconds) * 1000, until)
    for (;;) {
      const early = first()
      if (early) return early
      const milestone = this.#milestones[0]
      const to = milestone && milestone.at <= wakeAt ? milestone.at : wakeAt
      if (this.#wake.signal.aborted) this.#wake = new AbortController()
      const signal = this.#wake.signal
      await this.#sleepUntil(to, signal)
      const late = first()
      if (late) return late
      if (signal.aborted) return 'lost-pool'
      if (milestone && milestone.at === to && this.#clock.now() >= to) {
        this.#milestones.shift()
        const c = await milestone.run()
        if (c) this.#pending.push(c)
        // A milestone may have left a command in the lab's mailbox (verify's phases do): read it now.
        await this.#collectCommands()
        continue
      }
      if (this.#clock.now() >= wakeAt) return this.#clock.now() >= until ? 'time' : 'time-passed'
    }
  }

  async #collectCommands(): Promise<void> {
    const commands = await this.#options.commands?.()
    if (commands) this.#pending.push(...commands)
  }

  async #sleepUntil(at: number, signal: AbortSignal): Promise<void> {
    const now = this.#clock.now()
    if (!Number.isFinite(at)) return this.#pollWhileSleeping(Infinity, signal)
    if (this.#options.fastForward) {
      const sleeping = this.#clock.sleep(at - now, signal)
      this.#clock.advance(Math.max(0, at - this.#clock.now()), { quiet: true })
      return sleeping
    }
    return this.#pollWhileSleeping(at - now, signal)
  }

  /** Sleeps in lab time, asking for commands about once a wall second when someone can send them. */
  async #pollWhileSleeping(ms: number, signal: AbortSignal): Promise<void> {
    const ask = this.#options.commands
    if (!ask) return this.#clock.sleep(ms, signal)
    const end = this.#clock.now() + ms
    while (!signal.aborted && this.#clock.now() < end) {
      const t0 = performance.now()
      await Promise.race([
        this.#clock.sleep(end - this.#clock.now(), signal),
        new Promise((r) => setTimeout(r, 1_000).unref()),
      ])
      if (performance.now() - t0 >= 999) {
        const got = await ask()
        if (got.length > 0) {
          this.#pending.push(...got)
          return
        }
      }
    }
  }
}
