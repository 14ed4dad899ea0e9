import { describe, expect, it } from 'vitest'
import { validatorFor } from '../../core/schema/ajv.js'
import { answerNtp } from './behaviour.js'
import {
  decodeNtp,
  ntpTimestampFromUnixMs,
  referenceIdText,
  unixMsFromNtpTimestamp,
  type NtpPacket,
} from './codec.js'
import { NtpSchema, type NtpConfig } from './schema.js'

function config(overrides: Partial<NtpConfig> = {}): NtpConfig {
  const c = { ...overrides } as NtpConfig
  validatorFor(NtpSchema)(c) // fills the defaults, as scenario loading does
  return c
}

const NOW = Date.parse('2026-11-25T12:00:00Z')
const times = { receivedMs: NOW, transmitMs: NOW + 0.5 }

function request(over: Partial<NtpPacket> = {}): NtpPacket {
  return {
    ...decodeNtp(new Uint8Array(48)),
    version: 4,
    mode: 3,
    poll: 6,
    transmitTimestamp: 0x0123456789abcdefn,
    ...over,
  }
}

function reply(outcome: ReturnType<typeof answerNtp>): NtpPacket {
  if (outcome.action !== 'reply') throw new Error(`expected a reply, got ${outcome.reason}`)
  return outcome.packet
}

describe('answerNtp', () => {
  it('answers a client in server mode, echoing its version and copying its transmit timestamp verbatim into origin', () => {
    for (const version of [3, 4]) {
      const p = reply(answerNtp(request({ version }), config(), times))
      expect(p.mode).toBe(4)
      expect(p.version).toBe(version)
      expect(p.originTimestamp).toBe(0x0123456789abcdefn)
      expect(p.leap).toBe(0)
      expect(p.stratum).toBe(2)
      expect(referenceIdText(p.referenceId)).toBe('LOCL')
    }
  })

  it('stamps receive and transmit from the lab clock', () => {
    const p = reply(answerNtp(request(), config(), times))
    expect(p.receiveTimestamp).toBe(ntpTimestampFromUnixMs(NOW))
    expect(p.transmitTimestamp).toBe(ntpTimestampFromUnixMs(NOW + 0.5))
    expect(p.referenceTimestamp < p.transmitTimestamp).toBe(true)
  })

  it('moves every timestamp by the scenario offset ("phone three years ahead")', () => {
    const out = answerNtp(request(), config({ offset: '+3y' }), times)
    const p = reply(out)
    expect(out.action === 'reply' && out.offsetMs).toBe(3 * 365.25 * 86_400_000)
    expect(unixMsFromNtpTimestamp(p.transmitTimestamp, NOW) - NOW).toBeCloseTo(94_672_800_000 + 0.5, 0)
  })

  it('sends a Kiss-o-Death with stratum 0 and the kiss code as reference ID', () => {
    const p = reply(answerNtp(request(), config({ kod: 'RATE' }), times))
    expect(p.stratum).toBe(0)
    expect(p.leap).toBe(3)
    expect(referenceIdText(p.referenceId)).toBe('RATE')
    expect(p.originTimestamp).toBe(0x0123456789abcdefn)
  })

  it('says it is unsynchronised with LI 3 and stratum 16', () => {
    const p = reply(answerNtp(request(), config({ leap: 'unsynchronised' }), times))
    expect(p.leap).toBe(3)
    expect(p.stratum).toBe(16)
    expect(p.referenceTimestamp).toBe(0n)
  })

  it('announces a leap second when asked', () => {
    expect(reply(answerNtp(request(), config({ leap: 'insert' }), times)).leap).toBe(1)
    expect(reply(answerNtp(request(), config({ leap: 'delete' }), times)).leap).toBe(2)
  })

  it('ignores what is not a client request, versions it is told to skip, and everything when silent', () => {
    expect(answerNtp(request({ mode: 4 }), config(), times)).toMatchObject({
      action: 'ignore',
      reason: expect.stringMatching(/mode 4/),
    })
    expect(answerNtp(request({ version: 2 }), config({ versions: [3, 4] }), times)).toMatchObject({
      action: 'ignore',
    })
    expect(answerNtp(request({ version: 0 }), config(), times)).toMatchObject({ action: 'ignore' })
    expect(answerNtp(request(), config({ silent: true }), times)).toMatchObject({
      action: 'ignore',
      reason: expect.stringMatching(/silent/),
    })
  })

  it('lets a fault override fields for a wrong but well-formed answer', () => {
    const p = reply(
      answerNtp(request(), config(), times, {
        set: { stratum: 9, originZero: true, version: 2, offset: '-1h' },
      }),
    )
    expect(p.stratum).toBe(9)
    expect(p.originTimestamp).toBe(0n)
    expect(p.version).toBe(2)
    expect(unixMsFromNtpTimestamp(p.transmitTimestamp, NOW) - NOW).toBeCloseTo(-3_600_000 + 0.5, 0)
    const kod = reply(answerNtp(request(), config(), times, { kiss: 'DENY' }))
    expect(referenceIdText(kod.referenceId)).toBe('DENY')
  })

  it('clamps the poll exponent it answers to 4..17', () => {
    expect(reply(answerNtp(request({ poll: 0 }), config(), times)).poll).toBe(4)
    expect(reply(answerNtp(request({ poll: 30 }), config(), times)).poll).toBe(17)
  })
})
