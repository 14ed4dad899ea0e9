import { describe, expect, it } from 'vitest'
import { eachLimited } from './limited.js'

describe('eachLimited', () => {
  it('runs every job once, in order, never more than n at once, each on a worker index below n', async () => {
    let running = 0
    let most = 0
    const done: number[] = []
    const workers = new Set<number>()
    await eachLimited([...Array(20).keys()], 3, async (job, w) => {
      running++
      most = Math.max(most, running)
      workers.add(w)
      await new Promise((r) => setImmediate(r))
      done.push(job)
      running--
    })
    expect(done.sort((a, b) => a - b)).toEqual([...Array(20).keys()])
    expect(most).toBe(3)
    expect([...workers].every((w) => w >= 0 && w < 3)).toBe(true)
  })
})
