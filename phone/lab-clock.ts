import { LabClock } from '../core/clock.js'
import type { LabClient } from '../lab/client/index.js'

/** A clock in this process that follows the running lab's, and can change the lab's rate with it. */
export interface FollowedClock {
  readonly clock: LabClock
  /** Runs the lab's clock (and this one, at the same moment) at `rate`. */
  setRate(rate: number): Promise<void>
  stop(): void
}

/**
 * A clock in this process that follows the running lab's: the same lab time and rate, re-read every second
 * so that an advance or a rate change made in the lab reaches the phone's timers. An answer to a read sent
 * before a change made here is ignored (it would put the old rate back).
 */
export async function followLabClock(lab: LabClient): Promise<FollowedClock> {
  const first = await lab.clock()
  const clock = new LabClock({ startMs: first.labMs, rate: first.rate })
  let generation = 0
  const timer = setInterval(() => {
    const asked = generation
    lab
      .clock()
      .then((v) => {
        if (asked !== generation) return
        if (v.rate !== clock.rate) clock.setRate(v.rate)
        // A jump in the lab (an advance) shows as lab time far ahead of ours; the round trip itself is
        // worth a few wall milliseconds, which at a fast rate are many lab ones.
        const ahead = v.labMs - clock.now()
        if (ahead > Math.max(250, v.rate * 50)) clock.advance(ahead, { quiet: true })
      })
      .catch(() => undefined) // the lab is gone: the phones notice on their own connections
  }, 1_000)
  timer.unref()
  return {
    clock,
    setRate: async (rate) => {
      generation++
      await lab.changeClock({ rate })
      clock.setRate(rate)
    },
    stop: () => clearInterval(timer),
  }
}
