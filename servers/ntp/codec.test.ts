import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../core/errors.js'
import {
  NTP_HEADER_LENGTH,
  decodeNtp,
  encodeNtp,
  encodingLengthNtp,
  ntpShortFromMs,
  ntpTimestampFromUnixMs,
  referenceIdFrom,
  referenceIdText,
  unixMsFromNtpTimestamp,
  type NtpPacket,
} from './codec.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

// Requests captured on loopback from the real clients the interop tests drive (chronyd 4.3, ntpdig 1.2.2).
// chronyd: LI 0 VN 4 mode 3, poll 6, precision 0x20, random transmit timestamp (chrony's privacy measure).
const CHRONYD_REQUEST = hex(`
  23 00 06 20  00 00 00 00  00 00 00 00  00 00 00 00
  00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
  00 00 00 00  00 00 00 00  ca 31 43 6f  74 20 f1 c8`)
// ntpdig: LI 3 (it does not claim to be synchronised) VN 4 mode 3, only the transmit timestamp set.
const NTPDIG_REQUEST = hex(`
  e3 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
  00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00
  00 00 00 00  00 00 00 00  ee b1 61 8f  41 2e 00 00`)

// A server answer assembled by hand from RFC 5905 §7.3: LI 0 VN 4 mode 4, stratum 2, poll 6, precision -20 (0xec), root delay 1/65536 s,
// root dispersion 0x0000028f, refid 192.0.2.1, and four timestamps.
const SERVER_ANSWER = hex(`
  24 02 06 ec  00 00 00 01  00 00 02 8f  c0 00 02 01
  ec a6 e1 72  00 00 00 00  ec a6 e1 b2  1e b8 52 00
  ec a6 e1 b2  20 00 00 00  ec a6 e1 b2  20 10 00 00`)

const packetArb: fc.Arbitrary<NtpPacket> = fc.record({
  leap: fc.integer({ min: 0, max: 3 }),
  version: fc.integer({ min: 0, max: 7 }),
  mode: fc.integer({ min: 0, max: 7 }),
  stratum: fc.integer({ min: 0, max: 255 }),
  poll: fc.integer({ min: -128, max: 127 }),
  precision: fc.integer({ min: -128, max: 127 }),
  rootDelay: fc.integer({ min: 0, max: 0xffffffff }),
  rootDispersion: fc.integer({ min: 0, max: 0xffffffff }),
  referenceId: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  referenceTimestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  originTimestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  receiveTimestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  transmitTimestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  extra: fc.uint8Array({ maxLength: 64 }),
})

describe('NTP codec', () => {
  it('decodes the captured chronyd and ntpdig requests field by field', () => {
    const c = decodeNtp(CHRONYD_REQUEST)
    expect(c).toMatchObject({ leap: 0, version: 4, mode: 3, stratum: 0, poll: 6, precision: 32 })
    expect(c.transmitTimestamp).toBe(0xca31436f7420f1c8n)
    expect(c.originTimestamp).toBe(0n)
    expect(c.extra.length).toBe(0)
    const n = decodeNtp(NTPDIG_REQUEST)
    expect(n).toMatchObject({ leap: 3, version: 4, mode: 3, stratum: 0, poll: 0 })
    expect(n.transmitTimestamp).toBe(0xeeb1618f412e0000n)
  })

  it('decodes a server answer, signed fields and all', () => {
    const p = decodeNtp(SERVER_ANSWER)
    expect(p).toMatchObject({
      leap: 0,
      version: 4,
      mode: 4,
      stratum: 2,
      poll: 6,
      precision: -20,
      rootDelay: 1,
      rootDispersion: 0x28f,
    })
    expect(Array.from(p.referenceId)).toEqual([192, 0, 2, 1])
    expect(p.referenceTimestamp).toBe(0xeca6e17200000000n)
    expect(p.originTimestamp).toBe(0xeca6e1b21eb85200n)
    expect(p.receiveTimestamp).toBe(0xeca6e1b220000000n)
    expect(p.transmitTimestamp).toBe(0xeca6e1b220100000n)
  })

  it('encodes every vector back to the same bytes', () => {
    for (const v of [CHRONYD_REQUEST, NTPDIG_REQUEST, SERVER_ANSWER]) {
      expect(Buffer.from(encodeNtp(decodeNtp(v))).toString('hex')).toBe(Buffer.from(v).toString('hex'))
    }
  })

  it('keeps bytes after the header (extension fields, MAC) verbatim', () => {
    const withMac = new Uint8Array([...CHRONYD_REQUEST, 0, 0, 0, 1, ...new Array<number>(16).fill(0xab)])
    const p = decodeNtp(withMac)
    expect(p.extra.length).toBe(20)
    expect(encodeNtp(p)).toEqual(withMac)
  })

  it('refuses datagrams shorter than a header with a typed error at the right offset', () => {
    for (const n of [0, 1, 47]) {
      const err = (() => {
        try {
          decodeNtp(new Uint8Array(n))
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect(err).toBeInstanceOf(LabDecodeError)
      expect((err as LabDecodeError).code).toBe('LAB_ERR_NTP_DECODE')
      expect((err as LabDecodeError).offset).toBe(n)
    }
  })

  it('round-trips any packet: encode → decode → equal, length agrees, re-encode is stable', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const bytes = encodeNtp(p)
        expect(bytes.length).toBe(encodingLengthNtp(p))
        const back = decodeNtp(bytes)
        expect(back).toEqual(p)
        expect(encodeNtp(back)).toEqual(bytes)
      }),
      { numRuns: 2000 },
    )
  })

  it('decodes a frame that starts at an offset inside a larger buffer', () => {
    const big = new Uint8Array(10 + SERVER_ANSWER.length)
    big.set(SERVER_ANSWER, 10)
    expect(decodeNtp(big.subarray(10))).toEqual(decodeNtp(SERVER_ANSWER))
  })

  it('fuzz: random bytes only ever give a packet or a LabDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1100 }), (bytes) => {
        try {
          const p = decodeNtp(bytes)
          expect(p.extra.length).toBe(bytes.length - NTP_HEADER_LENGTH)
        } catch (e) {
          expect(e).toBeInstanceOf(LabDecodeError)
        }
      }),
      { numRuns: 20_000 },
    )
  })

  it('fuzz: mutated valid frames only ever give a packet or a LabDecodeError', () => {
    const mutation = fc.record({
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
      cut: fc.nat({ max: 60 }),
      append: fc.uint8Array({ maxLength: 8 }),
    })
    fc.assert(
      fc.property(
        fc.constantFrom(CHRONYD_REQUEST, NTPDIG_REQUEST, SERVER_ANSWER),
        fc.array(mutation, { maxLength: 6 }),
        (base, muts) => {
          let b = Uint8Array.from(base)
          for (const m of muts) {
            if (b.length > 0) b[m.at % b.length] = m.value
            b = new Uint8Array([...b.subarray(0, Math.max(0, b.length - m.cut)), ...m.append])
          }
          try {
            decodeNtp(b)
          } catch (e) {
            expect(e).toBeInstanceOf(LabDecodeError)
          }
        },
      ),
      { numRuns: 20_000 },
    )
  })
})

describe('NTP timestamps', () => {
  it('puts the Unix epoch at 2,208,988,800 s of era 0', () => {
    expect(ntpTimestampFromUnixMs(0)).toBe(0x83aa7e80n << 32n)
  })

  it('encodes the fraction with sub-millisecond precision', () => {
    expect(ntpTimestampFromUnixMs(500) & 0xffffffffn).toBe(0x80000000n)
    expect(ntpTimestampFromUnixMs(0.25) & 0xffffffffn).toBe(BigInt(Math.floor(0.00025 * 2 ** 32)))
  })

  it('wraps into era 1 at 2036-02-07T06:28:16Z and converts back with a pivot', () => {
    const boundary = Date.parse('2036-02-07T06:28:16Z')
    expect(ntpTimestampFromUnixMs(boundary)).toBe(0n)
    expect(ntpTimestampFromUnixMs(boundary + 1000)).toBe(1n << 32n)
    expect(unixMsFromNtpTimestamp(1n << 32n, boundary)).toBe(boundary + 1000)
    expect(unixMsFromNtpTimestamp(0xffffffffn << 32n, boundary)).toBe(boundary - 1000)
  })

  it('round-trips any time from 1970 to 2100 within a microsecond', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: Date.parse('2100-01-01'), noNaN: true }), (ms) => {
        expect(Math.abs(unixMsFromNtpTimestamp(ntpTimestampFromUnixMs(ms), ms) - ms)).toBeLessThan(0.001)
      }),
    )
  })

  it('writes the NTP short format and reference IDs', () => {
    expect(ntpShortFromMs(1000)).toBe(0x00010000)
    expect(ntpShortFromMs(-5)).toBe(0)
    expect(Array.from(referenceIdFrom('RATE'))).toEqual([0x52, 0x41, 0x54, 0x45])
    expect(Array.from(referenceIdFrom('10.0.0.1'))).toEqual([10, 0, 0, 1])
    expect(referenceIdText(referenceIdFrom('GPS'))).toBe('GPS')
  })
})
