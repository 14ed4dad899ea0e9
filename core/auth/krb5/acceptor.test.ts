import { describe, expect, it } from 'vitest'
import { ReplayCache } from './acceptor.js'

/* The acceptors' replay cache (RFC 4120 §3.2.3): bounded, and cheap under a flood of fresh authenticators. */
describe('ReplayCache', () => {
  it('refuses an authenticator seen before, until it expires', () => {
    const cache = new ReplayCache()
    expect(cache.fresh('alice|1000|1', 1_000, 601_000)).toBe(true)
    expect(cache.fresh('alice|1000|1', 2_000, 602_000)).toBe(false)
    expect(cache.fresh('alice|1000|1', 601_000, 1_201_000)).toBe(true)
  })

  it('holds at most MAX under 100,000 fresh authenticators, the newest still refused when replayed', () => {
    const cache = new ReplayCache()
    let sweeps = 0
    for (let i = 0; i < 100_000; i++) {
      const before = cache.size
      expect(cache.fresh(`alice|${i}|0`, 1_000, 601_000)).toBe(true)
      if (cache.size < before) sweeps++
    }
    expect(cache.size).toBeLessThanOrEqual(ReplayCache.MAX)
    // A sweep makes room for a tenth of the cache: about one per thousand authenticators, not one for each.
    expect(sweeps).toBeLessThanOrEqual(100_000 / (ReplayCache.MAX / 10) + 1)
    expect(cache.fresh('alice|99999|0', 2_000, 602_000)).toBe(false)
  })
})
