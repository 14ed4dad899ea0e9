import { describe, expect, it } from 'vitest'
import { LabClock, manualClock } from './clock.js'

/** A wall clock the test moves by hand, so rates are checked without waiting. */
function fakeWall(start = 1_000_000): { wall: () => number; tick: (ms: number) => void } {
  let t = start
  return { wall: () => t, tick: (ms) => void (t += ms) }
}

describe('LabClock', () => {
  it('runs at its rate from wherever it was when the rate changed', () => {
    const w = fakeWall()
    using clock = new LabClock({ startMs: 0, rate: 1, wall: w.wall })
    w.tick(1_000)
    expect(clock.now()).toBe(1_000)
    clock.setRate(3_600)
    w.tick(1_000)
    expect(clock.now()).toBe(1_000 + 3_600_000)
    clock.setRate(0)
    w.tick(5_000)
    expect(clock.now()).toBe(3_601_000)
    expect(clock.state()).toEqual({ labMs: 3_601_000, wallMs: 1_007_000, rate: 0 })
  })

  it('is wall time until someone moves it, and says so', () => {
    const w = fakeWall(5_000)
    using clock = new LabClock({ wall: w.wall })
    expect(clock.now()).toBe(5_000)
    expect(clock.departed).toBe(false)
    clock.advance(1)
    expect(clock.departed).toBe(true)
  })

  it('runs the timers an advance passes, in lab-time order, and not the later ones', () => {
    using clock = manualClock(0)
    const ran: string[] = []
    clock.at(300, () => ran.push('c'))
    clock.at(100, () => ran.push('a'))
    clock.at(100, () => ran.push('a2'))
    clock.after(200, () => ran.push('b'))
    clock.at(10_000, () => ran.push('late'))
    clock.advance(300)
    expect(ran).toEqual(['a', 'a2', 'b', 'c'])
    expect(clock.pending).toBe(1)
  })

  it('runs a timer planned by a timer within the same advance when it is already due', () => {
    using clock = manualClock(0)
    const ran: number[] = []
    const every = (ms: number): void => {
      clock.after(ms, () => {
        ran.push(clock.now())
        every(ms)
      })
    }
    every(100)
    clock.advance(350)
    // The clock stands at 350 throughout the advance: each timer ran once it was due.
    expect(ran.length).toBe(1)
    expect(clock.pending).toBe(1)
  })

  it('fast-forwards timer by timer, each at its own time, waiting for held work before moving on', async () => {
    using clock = manualClock(0)
    const seen: string[] = []
    let release: () => void = () => undefined
    clock.at(100, () => {
      seen.push(`step at ${clock.now()}`)
      // A script step whose actions take wall time: lab time must not run on meanwhile.
      void clock.hold(
        new Promise<void>((resolve) => (release = resolve)).then(() => seen.push(`done at ${clock.now()}`)),
      )
    })
    clock.at(250, () => seen.push(`phone at ${clock.now()}`))
    const run = clock.fastForward(300)
    await new Promise((r) => setImmediate(r))
    expect(seen).toEqual(['step at 100'])
    expect(clock.now()).toBe(100)
    release()
    await run
    expect(seen).toEqual(['step at 100', 'done at 100', 'phone at 250'])
    expect(clock.now()).toBe(300)
  })

  it('stops fast-forwarding when its signal aborts, and never goes back', async () => {
    using clock = manualClock(1_000)
    const stop = new AbortController()
    clock.at(1_100, () => stop.abort())
    await clock.fastForward(5_000, stop.signal)
    expect(clock.now()).toBe(1_100)
    await clock.fastForward(500)
    expect(clock.now()).toBe(1_100)
  })

  it('cancels, and a cancelled timer never runs', () => {
    using clock = manualClock(0)
    let ran = false
    const t = clock.after(10, () => (ran = true))
    t.cancel()
    t.cancel()
    clock.advance(20)
    expect(ran).toBe(false)
  })

  it('fires timers on wall time at a fast rate', async () => {
    using clock = new LabClock({ startMs: 0, rate: 100_000 })
    const t0 = performance.now()
    await clock.sleep(60_000) // one lab minute: 0.6 ms of wall time
    expect(clock.now()).toBeGreaterThanOrEqual(60_000)
    expect(performance.now() - t0).toBeLessThan(60_000)
  })

  it('ends a sleep early when its signal aborts', async () => {
    using clock = manualClock(0)
    const ac = new AbortController()
    const slept = clock.sleep(1_000, ac.signal)
    ac.abort()
    await slept
    expect(clock.now()).toBe(0)
  })

  it('tells listeners of rate changes and advances, and refuses going back or absurd rates', () => {
    using clock = manualClock(0)
    const seen: unknown[] = []
    const off = clock.onChange((c) => seen.push(c))
    clock.setRate(60)
    clock.advance(5)
    off()
    clock.advance(5)
    expect(seen).toEqual([
      { kind: 'rate', from: 0, to: 60 },
      { kind: 'advance', byMs: 5 },
    ])
    expect(() => clock.advance(-1)).toThrow(/only moves forward/)
    expect(() => clock.setRate(-2)).toThrow(/0 to 1000000/)
    expect(() => clock.setRate(Number.NaN)).toThrow(/0 to 1000000/)
  })
})
