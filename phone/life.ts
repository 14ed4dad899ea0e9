import { performance } from 'node:perf_hooks'
import type { LabClock } from '../core/clock.js'
import type { PhoneCommand } from '../lab/admin/phone-commands.js'
import { PhoneContext, type EndState, type PhoneOptions, type PhoneReport } from './context.js'
import { renewLease, type Lease } from './dhcp.js'
import { installPending, powerOn, signIn, type SignedIn } from './emulator.js'
import { ntpOffset } from './ntp.js'
import { downloadAddressBook } from './stages/address-book.js'
import { autodiscover, ews, pollVoicemail } from './stages/exchange.js'
import { usesExchange } from './stages/provisioning.js'
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

/** The signed-in phone's timers, by what each does. */
type Duty =
  're-register' | 'keep-alive' | 'ews' | 'daily' | 'ntp' | 'renew' | 'rebind' | 'lease-end' | 'install'

/** The signed-in phone between its timers: when each is due, what runs beside the SIP work, the lease. */
interface Run {
  readonly ctx: PhoneContext
  readonly session: SignedIn
  readonly due: Map<Duty, number>
  readonly side: Map<string, Promise<void>>
  /** The lease in force and the lab time it was granted (T1, T2 and the end count from there). */
  lease: { readonly current: Lease; readonly since: number }
  /** The EWS connection the polls keep. */
  ews: PhoneHttp | undefined
  /** Why a side duty made the phone leave. */
  sideLeave: Leave | undefined
  readonly ewsPollMs: number
}

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
          installPending(ctx)
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
        if (leave === 'install') installPending(ctx)
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
    const run = this.#startRun(ctx, session)
    const duties = this.#duties(run)
    const { sip } = session
    const onClose = (): void => this.#wake.abort()
    sip.socket.once('close', onClose)
    try {
      for (;;) {
        const [task, at] = [...run.due.entries()].reduce((a, b) => (b[1] < a[1] ? b : a))
        const why = await this.#wait((at - this.#clock.now()) / 1000, until)
        if (run.sideLeave) return run.sideLeave
        if (why !== 'time-passed') return why
        if (sip.closed) {
          ctx.step('pool', false, 'the pool closed the connection')
          return 'lost-pool'
        }
        const leave = await duties[task](this.#clock.now())
        if (leave) return leave
        // A phone alone on a fast-forwarded clock does one thing at a time: lab time jumps only while it waits.
        if (this.#options.fastForward) await Promise.allSettled(run.side.values())
      }
    } finally {
      sip.socket.off('close', onClose)
      sip.close()
      await Promise.allSettled(run.side.values())
      run.ews?.close()
    }
  }

  /** The signed-in phone's timers, each first due as the spec paces them (§4.3, §5). */
  #startRun(ctx: PhoneContext, session: SignedIn): Run {
    const t = this.timings
    const now = this.#clock.now()
    const mwiMinutes = Number(session.props.ucExchangeMWIPoll)
    const due = new Map<Duty, number>([
      // The refresh counts from the REGISTER, not from the end of the sign-in's other steps.
      ['re-register', session.registeredAt + session.expiresS * 1000 * t.reRegisterAt],
      ['keep-alive', now + t.keepAliveS * 1000],
      ['daily', now + t.dailyS * 1000],
      ['ntp', now + t.ntpResyncS * 1000],
      ['renew', now + session.network.lease.renewSeconds * 1000],
    ])
    const ewsPollMs = (mwiMinutes > 0 ? mwiMinutes * 60 : t.ewsPollS) * 1000
    if (typeof ctx.learnt.ewsUrl === 'string') due.set('ews', now + ewsPollMs)
    if (this.#options.state.pendingFirmware) due.set('install', now + t.installIdleS * 1000)
    const lease = { current: session.network.lease, since: now }
    return { ctx, session, due, side: new Map(), lease, ews: undefined, sideLeave: undefined, ewsPollMs }
  }

  /** Runs a side duty unless one of its kind is still running; a duty may make the phone leave. */
  #beside(run: Run, name: string, duty: () => Promise<Leave | undefined>): void {
    if (run.side.has(name)) return
    const running = duty()
      .then((leave) => {
        if (leave && !run.sideLeave) {
          run.sideLeave = leave
          this.#wake.abort()
        }
      })
      .finally(() => run.side.delete(name))
    run.side.set(name, running)
  }

  /** What each timer does when it is due (`c`: lab time now); every duty has one (the type says so). */
  #duties(run: Run): Record<Duty, (c: number) => Promise<Leave | undefined>> {
    const { ctx, session, due } = run
    const { sip, network } = session
    const t = this.timings
    return {
      're-register': async (c) => {
        const a = await sip.refresh(ctx.timeoutMs * 2)
        const expires = Number(a?.headers.get('expires') ?? session.expiresS) || session.expiresS
        ctx.step('re-register', a?.status === 200, `REGISTER → ${a?.status ?? 'no answer'}`)
        if (a?.status !== 200) return 'lost-pool'
        due.set('re-register', c + expires * 1000 * t.reRegisterAt)
        return undefined
      },
      'keep-alive': async (c) => {
        if (!(await sip.keepAlive(ctx.timeoutMs))) {
          ctx.step('keep-alive', false, 'no pong from the pool')
          return 'lost-pool'
        }
        due.set('keep-alive', c + t.keepAliveS * 1000)
        return undefined
      },
      ews: async (c) => {
        this.#beside(run, 'ews', async () => {
          run.ews = await pollVoicemail(ctx, network, String(ctx.learnt.ewsUrl), run.ews)
          return undefined
        })
        due.set('ews', c + run.ewsPollMs)
        return undefined
      },
      daily: async (c) => {
        this.#beside(run, 'daily', async () => {
          await this.#daily(ctx, session)
          if (this.#options.state.pendingFirmware && !due.has('install'))
            due.set('install', this.#clock.now() + t.installIdleS * 1000)
          return undefined
        })
        due.set('daily', c + t.dailyS * 1000)
        return undefined
      },
      ntp: async (c) => {
        this.#beside(run, 'ntp', async () => void (await this.#resyncClock(ctx)))
        due.set('ntp', c + t.ntpResyncS * 1000)
        return undefined
      },
      renew: async () => this.#renew(run, 'renew'),
      rebind: async () => this.#renew(run, 'rebind'),
      'lease-end': async () => {
        ctx.step('dhcp', false, `the lease of ${run.lease.current.address} ran out`)
        return 'lost-address'
      },
      install: async () => 'install',
    }
  }

  /** Renews the lease at T1, or rebinds at T2 (RFC 2131 §4.4.5), beside the SIP work; plans what comes next. */
  #renew(run: Run, duty: 'renew' | 'rebind'): undefined {
    const { ctx, due } = run
    this.#beside(run, 'lease', async () => {
      const renewed = await renewLease(ctx.net, this.#options.mac, run.lease.current, {
        accept119: ctx.guesses.option119,
        timeoutMs: ctx.timeoutMs,
        rebinding: duty === 'rebind',
      })
      ctx.step(`dhcp-${duty}`, renewed !== undefined, renewed ? `${renewed.address} extended` : 'no ACK')
      const at = this.#clock.now()
      const { since } = run.lease
      if (renewed) {
        run.lease = { current: renewed, since: at }
        due.set('renew', at + renewed.renewSeconds * 1000)
      } else if (duty === 'renew') due.set('rebind', since + run.lease.current.rebindSeconds * 1000)
      else due.set('lease-end', since + run.lease.current.leaseSeconds * 1000)
      return undefined
    })
    due.delete(duty)
    return undefined
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
    if (email && usesExchange(props)) {
      const url = await autodiscover(ctx, network, email)
      if (url !== undefined) ctx.learnt.ewsUrl = url
    }
    const abs = props.absInternalServerUrl
    if (abs) await downloadAddressBook(ctx, network, abs)
    // New Outlook contacts are picked up by polling EWS (S29), with the GAL's daily cycle (§4.1's GUESS).
    if (typeof ctx.learnt.ewsUrl === 'string') await ews(ctx, network, ctx.learnt.ewsUrl)
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
      // Timer by timer, waiting for what the lab is doing (a script step's overlay) before moving on.
      await this.#clock.fastForward(at, signal)
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
