import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LineStore } from './lines.js'

/** A step of a store's life: a line in (written at once or left for the batch), the oldest dropped, a batch written. */
type Step =
  | { readonly op: 'push'; readonly text: string; readonly unwritten: boolean }
  | { readonly op: 'drop'; readonly n: number }
  | { readonly op: 'write' }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('push' as const),
      // Mostly short lines, some with characters of two and three octets, a few long enough for their own memory.
      text: fc.oneof(
        { weight: 8, arbitrary: fc.string({ maxLength: 40, unit: 'grapheme' }) },
        { weight: 1, arbitrary: fc.string({ minLength: 120, maxLength: 200 }) },
      ),
      unwritten: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('drop' as const), n: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('write' as const) }) },
)

describe('LineStore', () => {
  it('keeps the newest lines as pushed and writes every unwritten one once, in order, intact, though blocks are reused', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const store = new LineStore(256) // small blocks: reuse happens within a few lines
        let kept: string[] = []
        let owed: string[] = []
        const written: string[] = []
        const takeAll = (): void =>
          store.takeUnwritten((chunk, start, end) => written.push(chunk.toString('utf8', start, end)))
        for (const s of steps) {
          if (s.op === 'push') {
            const line = `${s.text}\n`
            expect(store.push(line, s.unwritten)).toBe(Buffer.byteLength(line))
            kept.push(line)
            if (s.unwritten) owed.push(line)
          } else if (s.op === 'drop') {
            store.drop(s.n)
            kept = kept.slice(Math.min(s.n, kept.length))
          } else {
            takeAll()
            expect(written.join('')).toBe(owed.join(''))
            written.length = 0
            owed = []
          }
          expect(store.length).toBe(kept.length)
          expect(store.bytes).toBe(kept.reduce((n, l) => n + Buffer.byteLength(l), 0))
        }
        kept.forEach((line, i) => expect(store.line(i).toString()).toBe(line))
        takeAll()
        expect(written.join('')).toBe(owed.join(''))
      }),
    )
  })

  it('reuses the blocks of dropped lines instead of taking new memory, so a busy journal holds a fixed set', () => {
    const store = new LineStore(1024)
    const line = `${'x'.repeat(63)}\n` // sixteen lines a block
    const blocksSeen = new Set<Buffer>()
    for (let round = 0; round < 1_000; round++) {
      for (let i = 0; i < 20; i++) store.push(line, true)
      store.takeUnwritten((chunk) => blocksSeen.add(chunk))
      if (store.length > 100) store.drop(store.length - 100)
    }
    expect(store.length).toBe(100)
    // 100 lines kept fill six blocks and part of a seventh (or of an eighth); at most 8 more wait as spares.
    expect(store.blocks).toBeGreaterThanOrEqual(7)
    expect(store.blocks).toBeLessThanOrEqual(8 + 8)
    // 20,000 lines went through no more blocks than that (without reuse: 1,250).
    expect(blocksSeen.size).toBeLessThanOrEqual(8 + 8)
  })

  it('keeps a block with an unwritten line from reuse until the line is written, though the line was dropped', () => {
    const store = new LineStore(64)
    const first = `${'a'.repeat(39)}\n`
    store.push(first, true)
    store.drop(1)
    // Enough lines to need new blocks several times over while the first line is still owed.
    for (let i = 0; i < 10; i++) {
      store.push(`${String(i).repeat(39)}\n`, false)
      store.drop(1)
    }
    const written: string[] = []
    store.takeUnwritten((chunk, start, end) => written.push(chunk.toString('utf8', start, end)))
    expect(written).toEqual([first])
  })
})
