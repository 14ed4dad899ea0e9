import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../core/errors.js'
import {
  DNS_CLASS_IN,
  DnsRcode,
  DnsType,
  decodeDns,
  encodeDns,
  frameDns,
  peekDnsId,
  recordText,
  takeDnsFrames,
  typeCode,
  type DnsMessage,
  type DnsRecord,
} from './codec.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

// Captured on loopback from the real clients the interop tests drive.
// dig 9.18: id e208, RD + AD, one question, EDNS(0) size 1232 with a client COOKIE option.
const DIG_SRV_QUERY = hex(`
  e208 0120 0001 0000 0000 0001
  0f 5f736970696e7465726e616c746c73 04 5f746370 07 636f6e746f736f 04 74657374 00 0021 0001
  00 0029 04d0 00000000 000c 000a 0008 29a6dc6dbd53ed4b`)
// kdig 3.2 +noedns: id 9858, RD + AD, sip.contoso.test A, no OPT.
const KDIG_A_QUERY = hex(`
  9858 0120 0001 0000 0000 0000
  03 736970 07 636f6e746f736f 04 74657374 00 0001 0001`)

const base = { class: DNS_CLASS_IN, ttl: 300 }

function message(partial: Partial<DnsMessage>): DnsMessage {
  return {
    id: 1,
    qr: true,
    opcode: 0,
    aa: true,
    tc: false,
    rd: false,
    ra: false,
    ad: false,
    cd: false,
    rcode: 0,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
    ...partial,
  }
}

function expectDecodeError(bytes: Uint8Array, pattern: RegExp): void {
  let caught: unknown
  try {
    decodeDns(bytes)
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(LabDecodeError)
  expect((caught as LabDecodeError).code).toBe('LAB_ERR_DNS_DECODE')
  expect((caught as Error).message).toMatch(pattern)
}

describe('DNS codec: byte vectors', () => {
  it('decodes the captured dig SRV query with its EDNS cookie', () => {
    const q = decodeDns(DIG_SRV_QUERY)
    expect(q).toMatchObject({ id: 0xe208, qr: false, opcode: 0, rd: true, ad: true, rcode: 0 })
    expect(q.questions).toEqual([{ name: '_sipinternaltls._tcp.contoso.test', type: DnsType.SRV, class: 1 }])
    expect(q.edns).toMatchObject({ udpSize: 1232, version: 0, dnssecOk: false })
    expect(q.edns?.options.map((o) => [o.code, Buffer.from(o.data).toString('hex')])).toEqual([
      [10, '29a6dc6dbd53ed4b'],
    ])
    expect(q.additionals).toEqual([])
  })

  it('decodes the captured kdig A query without EDNS', () => {
    const q = decodeDns(KDIG_A_QUERY)
    expect(q).toMatchObject({ id: 0x9858, rd: true })
    expect(q.questions[0]).toEqual({ name: 'sip.contoso.test', type: DnsType.A, class: 1 })
    expect(q.edns).toBeUndefined()
  })

  it('re-encodes the captured queries byte for byte', () => {
    expect(Buffer.from(encodeDns(decodeDns(DIG_SRV_QUERY))).toString('hex')).toBe(
      Buffer.from(DIG_SRV_QUERY).toString('hex'),
    )
    expect(Buffer.from(encodeDns(decodeDns(KDIG_A_QUERY))).toString('hex')).toBe(
      Buffer.from(KDIG_A_QUERY).toString('hex'),
    )
  })

  it('writes an SRV target uncompressed (RFC 2782) while compressing owner names', () => {
    const srv: DnsRecord = {
      ...base,
      name: '_sipinternaltls._tcp.contoso.test',
      type: 'SRV',
      priority: 0,
      weight: 0,
      port: 5061,
      target: 'ocspool.contoso.test',
    }
    const bytes = encodeDns(
      message({
        questions: [{ name: '_sipinternaltls._tcp.contoso.test', type: DnsType.SRV, class: 1 }],
        answers: [srv],
      }),
    )
    const h = Buffer.from(bytes).toString('hex')
    // The answer's owner name is a pointer to the question (c00c); the target is spelled out in full,
    // although "contoso.test" was already written and could have been a pointer.
    expect(h).toContain('c00c002100010000012c')
    expect(h).toContain(
      '0000' + '0000' + '13c5' + '076f6373706f6f6c' + '07636f6e746f736f' + '0474657374' + '00',
    )
    expect(decodeDns(bytes).answers).toEqual([srv])
  })

  it('compresses CNAME targets and the SOA names, and reads them back', () => {
    const records: DnsRecord[] = [
      { ...base, name: 'www.contoso.test', type: 'CNAME', target: 'mail.contoso.test' },
      {
        ...base,
        name: 'contoso.test',
        type: 'SOA',
        mname: 'dc1.contoso.test',
        rname: 'hostmaster.contoso.test',
        serial: 1,
        refresh: 900,
        retry: 600,
        expire: 86400,
        minimum: 300,
      },
    ]
    const bytes = encodeDns(
      message({ questions: [{ name: 'www.contoso.test', type: 1, class: 1 }], answers: records }),
    )
    const spelled = Buffer.from('07636f6e746f736f04746573740', 'hex').toString('hex')
    expect(Buffer.from(bytes).toString('hex').split(spelled).length - 1).toBe(1) // "contoso.test" written once
    expect(decodeDns(bytes).answers).toEqual(records)
  })

  it('sets TC and keeps only the question and OPT when the answer exceeds the size limit', () => {
    const answers: DnsRecord[] = Array.from({ length: 60 }, (_, i) => ({
      ...base,
      name: 'big.contoso.test',
      type: 'A' as const,
      address: `10.0.0.${i}`,
    }))
    const full = message({
      questions: [{ name: 'big.contoso.test', type: 1, class: 1 }],
      answers,
      edns: { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: [] },
    })
    expect(encodeDns(full).length).toBeGreaterThan(512)
    const cut = decodeDns(encodeDns(full, { maxSize: 512 }))
    expect(cut.tc).toBe(true)
    expect(cut.answers).toEqual([])
    expect(cut.questions).toHaveLength(1)
    expect(cut.edns?.udpSize).toBe(1232)
  })

  it('carries an extended rcode (BADVERS) in the OPT record', () => {
    const bytes = encodeDns(
      message({
        rcode: DnsRcode.BADVERS,
        edns: { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: [] },
      }),
    )
    expect(decodeDns(bytes).rcode).toBe(DnsRcode.BADVERS)
  })

  it('names types both ways and prints records as dig does', () => {
    expect(typeCode('srv')).toBe(33)
    expect(typeCode('TYPE65')).toBe(65)
    expect(typeCode('nope')).toBeUndefined()
    expect(
      recordText({
        ...base,
        name: '_ntp._udp.contoso.test',
        type: 'SRV',
        priority: 0,
        weight: 0,
        port: 123,
        target: 'time.contoso.test',
      }),
    ).toBe('_ntp._udp.contoso.test. 300 SRV 0 0 123 time.contoso.test.')
  })
})

describe('DNS codec: malformed input', () => {
  const header = '0001 0000 0001 0000 0000 0000'
  it('refuses a compression pointer loop, a forward pointer and one past the end', () => {
    expectDecodeError(hex(`${header} c00c 0001 0001`), /points forward/) // points at itself
    expectDecodeError(hex(`${header} c010 0001 0001 00`), /points forward/)
    expectDecodeError(
      hex(`0001 0000 0001 0001 0000 0000 03616263 00 0001 0001 c0ff 0001 0001 0000012c 0004 0a000001`),
      /forward/,
    )
  })

  it('refuses reserved label types, cut-off labels, over-long names and trailing bytes', () => {
    expectDecodeError(hex(`${header} 40 0001 0001`), /reserved/)
    expectDecodeError(hex(`${header} 3f 6162`), /past the end/)
    const long = Array.from({ length: 5 }, () => '3f' + '61'.repeat(63)).join('')
    expectDecodeError(hex(`${header} ${long} 00 0001 0001`), /255 octets/)
    expectDecodeError(hex(`${header} 00 0001 0001 ff`), /after the last record/)
    expectDecodeError(hex('0001 0000'), /shorter than the 12-octet header/)
  })

  it('refuses rdata that does not fit its type or its rdlength', () => {
    const q = '0001 8000 0000 0001 0000 0000'
    expectDecodeError(hex(`${q} 00 0001 0001 0000012c 0003 0a0000`), /A rdata is 3 octets/)
    expectDecodeError(hex(`${q} 00 0021 0001 0000012c 0004 00000000`), /SRV rdata is 4 octets/)
    expectDecodeError(hex(`${q} 00 0001 0001 0000012c 0010 0a000001`), /runs past the end/)
  })

  it('peeks the id of anything two octets long, so even FORMERR can name the query', () => {
    expect(peekDnsId(hex('abcd'))).toBe(0xabcd)
    expect(peekDnsId(hex('ab'))).toBeUndefined()
  })
})

const label = fc.stringMatching(/^[a-z0-9_][a-z0-9-]{0,20}$/)
const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'))
const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'))
const recordArb: fc.Arbitrary<DnsRecord> = fc.oneof(
  fc.record({ name, class: fc.constant(1), ttl: u32, type: fc.constant('A' as const), address: ipv4 }),
  fc.record({
    name,
    class: fc.constant(1),
    ttl: u32,
    type: fc.constantFrom('NS' as const, 'CNAME' as const, 'PTR' as const),
    target: name,
  }),
  fc.record({
    name,
    class: fc.constant(1),
    ttl: u32,
    type: fc.constant('SRV' as const),
    priority: u16,
    weight: u16,
    port: u16,
    target: name,
  }),
  fc.record({
    name,
    class: fc.constant(1),
    ttl: u32,
    type: fc.constant('MX' as const),
    preference: u16,
    exchange: name,
  }),
  fc.record({
    name,
    class: fc.constant(1),
    ttl: u32,
    type: fc.constant('TXT' as const),
    texts: fc.array(
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(s).toString('latin1')),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  fc.record({
    name,
    class: fc.constant(1),
    ttl: u32,
    type: fc.constant('RAW' as const),
    code: fc.constantFrom(99, 257, 65280),
    rdata: fc.uint8Array({ maxLength: 30 }),
  }),
)
const messageArb: fc.Arbitrary<DnsMessage> = fc.record({
  id: u16,
  qr: fc.boolean(),
  opcode: fc.integer({ min: 0, max: 15 }),
  aa: fc.boolean(),
  tc: fc.boolean(),
  rd: fc.boolean(),
  ra: fc.boolean(),
  ad: fc.boolean(),
  cd: fc.boolean(),
  rcode: fc.integer({ min: 0, max: 15 }),
  questions: fc.array(fc.record({ name, type: u16.filter((t) => t !== 41), class: u16 }), { maxLength: 2 }),
  answers: fc.array(recordArb, { maxLength: 4 }),
  authorities: fc.array(recordArb, { maxLength: 2 }),
  additionals: fc.array(recordArb, { maxLength: 2 }),
})

describe('DNS codec: properties and fuzz', () => {
  it('round-trips any message: decode(encode(m)) equals m', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(decodeDns(encodeDns(m))).toEqual(m)
      }),
      { numRuns: 2_000, seed: 53 },
    )
  })

  it('fuzz: random bytes only ever give a message or a LabDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeDns(bytes)
        } catch (err) {
          expect(err).toBeInstanceOf(LabDecodeError)
        }
      }),
      { numRuns: 20_000, seed: 54 },
    )
  })

  it('fuzz: mutated valid messages only ever give a message or a LabDecodeError', () => {
    const valid = [DIG_SRV_QUERY, KDIG_A_QUERY]
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { minLength: 1, maxLength: 6 }),
        fc.nat(80),
        (frame, mutations, cut) => {
          const b = Uint8Array.from(frame)
          for (const [at, v] of mutations) b[at % b.length] = v
          try {
            decodeDns(b.subarray(0, b.length - (cut % 8 === 0 ? cut % b.length : 0)))
          } catch (err) {
            expect(err).toBeInstanceOf(LabDecodeError)
          }
        },
      ),
      { numRuns: 20_000, seed: 55 },
    )
  })
})

describe('DNS over TCP: framing', () => {
  it('finds both of two pipelined queries at every split point of the stream', () => {
    const stream = Buffer.concat([frameDns(DIG_SRV_QUERY), frameDns(KDIG_A_QUERY)])
    for (let cut = 0; cut <= stream.length; cut++) {
      const first = takeDnsFrames(stream.subarray(0, cut))
      const second = takeDnsFrames(Buffer.concat([first.rest, stream.subarray(cut)]))
      const frames = [...first.frames, ...second.frames].map((f) => Buffer.from(f).toString('hex'))
      expect(frames).toEqual([
        Buffer.from(DIG_SRV_QUERY).toString('hex'),
        Buffer.from(KDIG_A_QUERY).toString('hex'),
      ])
      expect(second.rest.length).toBe(0)
    }
  })

  it('keeps a half-received length prefix as the rest, not as an error', () => {
    expect(takeDnsFrames(hex('00'))).toEqual({ frames: [], rest: hex('00') })
    expect(takeDnsFrames(hex('0000')).frames.map((f) => f.length)).toEqual([0])
  })
})
