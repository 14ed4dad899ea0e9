import { describe, expect, it } from 'vitest'
import type { Logger } from './logger.js'
import { startMemoryReducer } from './memory.js'

describe('the memory reducer', () => {
  it('asks V8 for a full collection once the heap has grown by the threshold, and stops when told', async () => {
    const said: string[] = []
    const logger = {
      debug: (_fields: unknown, message?: string) => said.push(String(message)),
    } as unknown as Logger
    const reducer = startMemoryReducer(logger, { intervalMs: 5, growthBytes: 1 })
    const kept: string[] = []
    for (let i = 0; i < 20_000; i++) kept.push(JSON.stringify({ i, s: 'x'.repeat(40) }))
    await new Promise((r) => setTimeout(r, 60))
    reducer.stop()
    const collections = said.filter((m) => m === 'memory reducer: full collection').length
    expect(kept).toHaveLength(20_000)
    expect(collections).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 30))
    expect(said.filter((m) => m === 'memory reducer: full collection').length).toBe(collections)
  })
})
