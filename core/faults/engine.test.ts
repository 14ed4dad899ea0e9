import { describe, expect, it } from 'vitest'
import { manualClock } from '../clock.js'
import { LabError } from '../errors.js'
import { Journal } from '../journal/journal.js'
import { seededRandom } from '../random.js'
import { NTP_FAULTS } from '../../servers/ntp/schema.js'
import { FaultEngine, checkRule, peerMatches, type FaultContext } from './engine.js'
import type { FaultCapabilities } from './types.js'
import { corruptBytes, garbageBytes } from './bytes.js'

const servers = new Map<string, FaultCapabilities>([
  ['ntp', NTP_FAULTS],
  ['tcpish', { kinds: ['drop', 'reset', 'error'], errorCodes: ['BUSY'], matchFields: ['path'] }],
])

function engine(seed = 1) {
  const journal = new Journal({ clock: manualClock(0) })
  return { journal, faults: new FaultEngine({ journal, random: seededRandom(seed), servers }) }
}

const ctx = (over: Partial<FaultContext> = {}): FaultContext => ({
  server: 'ntp',
  peer: { address: '127.0.0.1', port: 5000, transport: 'udp' },
  fields: { version: 4, mode: 3 },
  ...over,
})

describe('FaultEngine', () => {
  it('applies a matching rule, journals it, and leaves other servers alone', () => {
    const { journal, faults } = engine()
    faults.add({ match: { server: 'ntp' }, fault: { kind: 'drop' } })
    expect(faults.decide(ctx({ server: 'tcpish' }))).toBeUndefined()
    expect(faults.decide(ctx())).toMatchObject({ fault: { kind: 'drop' } })
    expect(journal.query({ kind: 'fault:applied' })).toHaveLength(1)
    expect(journal.query({ kind: 'fault:added' })).toHaveLength(1)
  })

  it('counts `after` and `times`: skip the first N matches, then apply M times', () => {
    const { faults } = engine()
    faults.add({ match: { server: 'ntp' }, fault: { kind: 'drop' }, after: 2, times: 2 })
    const got = Array.from({ length: 6 }, () => faults.decide(ctx())?.fault.kind ?? '-')
    expect(got).toEqual(['-', '-', 'drop', 'drop', '-', '-'])
    expect(faults.list()[0]).toMatchObject({ matched: 6, applied: 2 })
  })

  it('matches by device (IP, MAC or user), by peer CIDR and by protocol fields with wildcards', () => {
    const { faults } = engine()
    faults.add({ id: 'by-mac', match: { device: '00:04:F2:00:00:01' }, fault: { kind: 'drop' } })
    faults.add({ id: 'by-cidr', match: { peer: '10.50.0.0/24' }, fault: { kind: 'drop' } })
    faults.add({
      id: 'by-field',
      match: { server: 'tcpish', fields: { path: '/certsrv/*' } },
      fault: { kind: 'reset' },
    })
    expect(faults.decide(ctx({ device: { mac: '00:04:f2:00:00:01' } }))?.ruleId).toBe('by-mac')
    expect(faults.decide(ctx({ peer: { address: '10.50.0.7', port: 1, transport: 'udp' } }))?.ruleId).toBe(
      'by-cidr',
    )
    expect(faults.decide(ctx({ peer: { address: '10.51.0.7', port: 1, transport: 'udp' } }))).toBeUndefined()
    expect(faults.decide(ctx({ server: 'tcpish', fields: { path: '/certsrv/certnew.p7b' } }))?.ruleId).toBe(
      'by-field',
    )
    const stranger = { address: '192.0.2.9', port: 1, transport: 'udp' as const }
    expect(faults.decide(ctx({ server: 'tcpish', peer: stranger, fields: { path: '/ews' } }))).toBeUndefined()
    // A request that names no device matches by what the journal knows of its address: 127.0.0.1 was tied
    // to the MAC above (a trainee's phone is matched so, whatever the server knows of it).
    expect(faults.decide(ctx({ server: 'tcpish', fields: { path: '/ews' } }))?.ruleId).toBe('by-mac')
  })

  it('draws probabilities from the seeded source: the same seed gives the same pattern', () => {
    const pattern = (seed: number): string => {
      const { faults } = engine(seed)
      faults.add({ fault: { kind: 'drop' }, probability: 0.5 })
      return Array.from({ length: 64 }, () => (faults.decide(ctx()) ? 'x' : '.')).join('')
    }
    expect(pattern(7)).toBe(pattern(7))
    expect(pattern(7)).not.toBe(pattern(8))
    const hits = pattern(7)
      .split('')
      .filter((c) => c === 'x').length
    expect(hits).toBeGreaterThan(16)
    expect(hits).toBeLessThan(48)
  })

  it('consults runtime rules (newest first) before the scenario rules', () => {
    const { faults } = engine()
    faults.setScenarioRules([{ id: 'scn', fault: { kind: 'drop' } }])
    expect(faults.decide(ctx())?.ruleId).toBe('scn')
    faults.add({ id: 'old', match: { server: 'ntp' }, fault: { kind: 'error', code: 'RATE' } })
    faults.add({ id: 'new', match: { server: 'ntp' }, fault: { kind: 'error', code: 'DENY' } })
    expect(faults.decide(ctx())?.ruleId).toBe('new')
    expect(faults.list().map((r) => `${r.origin}:${r.id}`)).toEqual([
      'runtime:new',
      'runtime:old',
      'scenario:scn',
    ])
  })

  it('removes and clears runtime rules, and says why it cannot remove a scenario rule', () => {
    const { faults } = engine()
    faults.setScenarioRules([{ id: 'scn', fault: { kind: 'drop' } }])
    const r = faults.add({ fault: { kind: 'drop' } })
    faults.remove(r.id)
    expect(() => faults.remove(r.id)).toThrow(LabError)
    expect(() => faults.remove('scn')).toThrow(/comes from the scenario/)
    faults.add({ fault: { kind: 'drop' } })
    faults.add({ fault: { kind: 'drop' } })
    expect(faults.clear()).toBe(2)
    expect(faults.list().map((x) => x.id)).toEqual(['scn'])
  })

  it('refuses rules a server cannot honour, naming every problem', () => {
    const { faults } = engine()
    const err = (() => {
      try {
        faults.add({ match: { server: 'ntp', fields: { qname: 'x' } }, fault: { kind: 'reset' } })
      } catch (e) {
        return e as LabError & { problems: { path: string }[] }
      }
      return undefined
    })()
    expect(err?.code).toBe('LAB_ERR_FAULT_INVALID')
    expect(err?.problems.map((p) => p.path)).toEqual(['/fault/kind', '/match/fields/qname'])
    expect(() => faults.add({ id: 'a', fault: { kind: 'drop' } })).not.toThrow()
    expect(() => faults.add({ id: 'a', fault: { kind: 'drop' } })).toThrow(/taken/)
  })
})

describe('checkRule', () => {
  it('checks error codes and answer fields against the server', () => {
    expect(
      checkRule({ match: { server: 'ntp' }, fault: { kind: 'error', code: 'SERVFAIL' } }, servers)[0]
        ?.message,
    ).toMatch(/RATE, DENY, RSTR/)
    expect(
      checkRule({ match: { server: 'ntp' }, fault: { kind: 'answer', set: { stratum: 'high' } } }, servers)[0]
        ?.message,
    ).toMatch(/integer stratum/)
    expect(
      checkRule(
        {
          match: { server: 'ntp' },
          fault: { kind: 'answer', set: { offset: '+3y', leap: 'unsynchronised' } },
        },
        servers,
      ),
    ).toEqual([])
    expect(
      checkRule({ match: { server: 'ntp' }, fault: { kind: 'answer', set: { color: 1 } } }, servers)[0]?.path,
    ).toBe('/fault/set/color')
    expect(checkRule({ fault: { kind: 'error', code: 'RATE' } }, servers)[0]?.message).toMatch(
      /must name match.server/,
    )
    expect(checkRule({ match: { server: 'nope' }, fault: { kind: 'drop' } }, servers)[0]?.message).toMatch(
      /unknown server "nope"/,
    )
  })
})

describe('peerMatches', () => {
  it('matches exact addresses, CIDR blocks and v4-mapped v6 addresses', () => {
    expect(peerMatches('10.0.0.1', '10.0.0.1')).toBe(true)
    expect(peerMatches('10.0.0.1', '::ffff:10.0.0.1')).toBe(true)
    expect(peerMatches('10.0.0.0/8', '10.255.1.2')).toBe(true)
    expect(peerMatches('0.0.0.0/0', '192.0.2.1')).toBe(true)
    expect(peerMatches('10.0.0.0/33', '10.0.0.1')).toBe(false)
    expect(peerMatches('10.0.0.0/8', '11.0.0.1')).toBe(false)
  })
})

describe('byte faults', () => {
  it('garbage is seeded; corrupt flips exactly one bit per byte touched and never grows the answer', () => {
    expect(garbageBytes(16, seededRandom(3))).toEqual(garbageBytes(16, seededRandom(3)))
    const base = new Uint8Array(48)
    const bad = corruptBytes(base, 1, seededRandom(3))
    expect(bad.length).toBe(48)
    const flipped = Array.from(bad).filter((b) => b !== 0)
    expect(flipped).toHaveLength(1)
    expect([1, 2, 4, 8, 16, 32, 64, 128]).toContain(flipped[0])
    expect(corruptBytes(new Uint8Array(0), 3, seededRandom(1)).length).toBe(0)
  })
})
