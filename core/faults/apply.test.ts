import { describe, expect, it } from 'vitest'
import { seededRandom } from '../random.js'
import { NO_FAULT, delayOf, describeFault, planFault } from './apply.js'
import { FAULT_KINDS, type Fault } from './types.js'

const tcp = () => ({ transport: 'tcp' as const, random: seededRandom(7), garbageLength: 64 })
const udp = () => ({ transport: 'udp' as const, random: seededRandom(7), garbageLength: 48 })
const answer = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])

describe('planFault: where each fault takes effect, for every server alike', () => {
  it('lets the behaviour answer unchanged when no fault applies', () => {
    expect(planFault(undefined, tcp())).toBe(NO_FAULT)
    expect(NO_FAULT.onEncoded(answer)).toBe(answer)
  })

  it('drops in silence; resets the connection over TCP and stays silent over UDP', () => {
    expect(planFault({ kind: 'drop' }, tcp())).toEqual({ hook: 'silence', kind: 'drop' })
    expect(planFault({ kind: 'reset' }, tcp())).toEqual({ hook: 'connection', kind: 'reset' })
    expect(planFault({ kind: 'reset' }, udp())).toEqual({ hook: 'silence', kind: 'reset' })
  })

  it("sends garbage of the rule's length, or the server's default", () => {
    const given = planFault({ kind: 'garbage', bytes: 10 }, tcp())
    const fallback = planFault({ kind: 'garbage' }, udp())
    expect(given.hook === 'connection' && given.kind === 'garbage' && given.bytes.length).toBe(10)
    expect(fallback.hook === 'connection' && fallback.kind === 'garbage' && fallback.bytes.length).toBe(48)
  })

  it('delays by ms plus a seeded jitter, the same on every run', () => {
    const f = { kind: 'delay', ms: 100, jitterMs: 50 } as const
    const a = planFault(f, tcp())
    const b = planFault(f, tcp())
    expect(a.hook === 'behaviour' && a.delayMs).toBe(b.hook === 'behaviour' && b.delayMs)
    expect(a.hook === 'behaviour' && a.delayMs >= 100 && a.delayMs < 150).toBe(true)
    expect(delayOf({ kind: 'delay', ms: 5 }, seededRandom(1))).toBe(5)
  })

  it('corrupts and truncates the encoded answer, and says that it does', () => {
    const corrupt = planFault({ kind: 'corrupt', bytes: 2 }, tcp())
    const truncate = planFault({ kind: 'truncate', bytes: 3 }, tcp())
    if (corrupt.hook !== 'behaviour' || truncate.hook !== 'behaviour') throw new Error('not a behaviour plan')
    expect(corrupt.altersBytes && truncate.altersBytes).toBe(true)
    expect(corrupt.onEncoded(answer)).not.toEqual(answer)
    expect(corrupt.onEncoded(answer)).toHaveLength(answer.length)
    expect(truncate.onEncoded(answer)).toEqual(answer.slice(0, 3))
  })

  it("hands error and answer to the server's behaviour", () => {
    const error = planFault({ kind: 'error', code: 'SERVFAIL' }, udp())
    const wrong = planFault({ kind: 'answer', set: { ttl: 5 } }, udp())
    expect(error.hook === 'behaviour' && error.protocol).toEqual({ kind: 'error', code: 'SERVFAIL' })
    expect(wrong.hook === 'behaviour' && wrong.protocol).toEqual({ kind: 'answer', set: { ttl: 5 } })
    expect(wrong.hook === 'behaviour' && wrong.altersBytes).toBe(false)
  })

  it('plans and describes every kind of the vocabulary', () => {
    const examples: Record<Fault['kind'], Fault> = {
      drop: { kind: 'drop' },
      delay: { kind: 'delay', ms: 1 },
      reset: { kind: 'reset' },
      garbage: { kind: 'garbage' },
      corrupt: { kind: 'corrupt' },
      truncate: { kind: 'truncate', bytes: 1 },
      error: { kind: 'error', code: 'X' },
      answer: { kind: 'answer', set: {} },
    }
    for (const kind of FAULT_KINDS) {
      expect(planFault(examples[kind], tcp()).hook).toMatch(/^(silence|connection|behaviour)$/)
      expect(describeFault(examples[kind])).toContain(kind === 'answer' ? 'wrong answer' : kind)
    }
  })
})
