import { performance } from 'node:perf_hooks'

/**
 * The lab's clock. `now()` is wall time in milliseconds since the Unix epoch, with sub-millisecond precision,
 * anchored once to the system clock and then advanced by the monotonic clock, so that a step of the host
 * clock during a run does not make NTP answers jump.
 */
export interface Clock {
  now(): number
}

export function systemClock(): Clock {
  const anchor = performance.timeOrigin
  return { now: () => anchor + performance.now() }
}

/** A clock tests can set and advance. */
export function manualClock(startMs: number): Clock & { set(ms: number): void; advance(ms: number): void } {
  let t = startMs
  return {
    now: () => t,
    set: (ms) => {
      t = ms
    },
    advance: (ms) => {
      t += ms
    },
  }
}
