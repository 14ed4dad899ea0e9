import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteArena } from './arena.js'

describe('ByteArena', () => {
  it('gives back copies equal to what it was handed, none sharing the caller’s buffer or another copy', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 60 }), (pieces) => {
        const arena = new ByteArena(1024)
        const expected = pieces.map((p) => Buffer.from(p))
        const copies = pieces.map((p) => arena.copy(p))
        for (const p of pieces) p.fill(0xee) // the caller reuses its buffers
        copies.forEach((c, i) => expect(Buffer.from(c)).toEqual(expected[i]))
        const spans = copies
          .filter((c) => c.length > 0)
          .map((c) => [c.buffer, c.byteOffset, c.byteOffset + c.length] as const)
        for (const [i, [buffer, start, end]] of spans.entries())
          for (const [other, from, to] of spans.slice(i + 1))
            if (other === buffer) expect(end <= from || to <= start).toBe(true)
      }),
    )
  })

  it('packs small pieces into one slab and gives a large piece its own buffer', () => {
    const arena = new ByteArena(1024)
    const a = arena.copy(new Uint8Array(100).fill(1))
    const b = arena.copy(new Uint8Array(100).fill(2))
    const big = arena.copy(new Uint8Array(600).fill(3))
    expect(a.buffer).toBe(b.buffer)
    expect(big.buffer).not.toBe(a.buffer)
    expect(big.byteLength).toBe(big.buffer.byteLength)
    expect([a[99], b[0], big[599]]).toEqual([1, 2, 3])
    expect(arena.copy(new Uint8Array(0)).length).toBe(0)
  })
})
