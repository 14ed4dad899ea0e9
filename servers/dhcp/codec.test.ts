import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../core/errors.js'
import {
  DHCP_MAGIC,
  Opt,
  decodeDhcp,
  decodeSearchList,
  encodeDhcp,
  encodeSearchList,
  type DhcpMessage,
} from './codec.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

const base: Omit<DhcpMessage, 'options'> = {
  op: 1,
  htype: 1,
  hlen: 6,
  hops: 0,
  xid: 0x3903f326,
  secs: 0,
  flags: 0x8000,
  ciaddr: '0.0.0.0',
  yiaddr: '0.0.0.0',
  siaddr: '0.0.0.0',
  giaddr: '0.0.0.0',
  chaddr: '00:04:f2:01:02:03',
  sname: '',
  file: '',
}

/** A DISCOVER laid out by hand from RFC 2131 §2 / RFC 2132: op 1, Ethernet, xid, broadcast flag, chaddr, cookie, 53=1, 55=[1,3,6,15,119], end. */
const DISCOVER = (() => {
  const b = new Uint8Array(300)
  b.set(hex('01 01 06 00 3903f326 0000 8000'), 0)
  b.set(hex('0004f2010203'), 28)
  b.set(hex('63825363 350101 3705 0103060f77 ff'), 236)
  return b
})()

describe('DHCP codec: vectors', () => {
  it('decodes a DISCOVER laid out from the RFCs', () => {
    const m = decodeDhcp(DISCOVER)
    expect(m).toMatchObject({
      op: 1,
      xid: 0x3903f326,
      flags: 0x8000,
      chaddr: '00:04:f2:01:02:03',
      giaddr: '0.0.0.0',
    })
    expect([...m.options.entries()].map(([k, v]) => [k, [...v]])).toEqual([
      [53, [1]],
      [55, [1, 3, 6, 15, 119]],
    ])
    expect(Buffer.from(encodeDhcp({ ...base, options: m.options })).equals(Buffer.from(DISCOVER))).toBe(true)
  })

  it('writes option 119 in RFC 3397 form byte for byte as dnsmasq does (packages.md golden vector)', () => {
    const bytes = encodeSearchList(['corp.example.test', 'example.test'])
    expect(Buffer.from(bytes).toString('hex')).toBe('04636f7270076578616d706c650474657374' + '00' + 'c005')
    expect(decodeSearchList(bytes)).toEqual(['corp.example.test', 'example.test'])
    expect(decodeSearchList(encodeSearchList(['fabrikam.dk', 'dk']))).toEqual(['fabrikam.dk', 'dk'])
  })

  it('splits an option over 255 octets into instances and joins them again (RFC 3396)', () => {
    const long = Uint8Array.from({ length: 600 }, (_, i) => i % 251)
    const bytes = encodeDhcp({
      ...base,
      options: new Map([
        [Opt.messageType, Uint8Array.of(1)],
        [Opt.domainSearch, long],
      ]),
    })
    const at = 240 + 3
    expect([bytes[at], bytes[at + 1]]).toEqual([119, 255])
    expect([bytes[at + 2 + 255], bytes[at + 3 + 255]]).toEqual([119, 255])
    expect(decodeDhcp(bytes).options.get(Opt.domainSearch)).toEqual(long)
  })

  it('reads options from the file and sname fields when option 52 says so', () => {
    const b = Uint8Array.from(DISCOVER)
    b.set(hex('340103 ff'), 236 + 4 + 3 + 7) // overload = 3 replaces the end of the main area
    b.set(hex('0f05 6c61622e74 ff'), 108) // file: 15 = "lab.t"
    b.set(hex('0c03 636d70 ff'), 44) // sname: 12 = "cmp"
    const m = decodeDhcp(b)
    expect(Buffer.from(m.options.get(Opt.domainName)!).toString()).toBe('lab.t')
    expect(Buffer.from(m.options.get(Opt.hostName)!).toString()).toBe('cmp')
    expect(m.file).toBe('')
  })

  it('leaves options out, last first, to fit the client’s maximum message size (option 57)', () => {
    const big = new Map<number, Uint8Array>([
      [Opt.messageType, Uint8Array.of(2)],
      [200, new Uint8Array(200)],
      [201, new Uint8Array(200)],
    ])
    const m = decodeDhcp(encodeDhcp({ ...base, options: big }, { maxSize: 548 }))
    expect([...m.options.keys()]).toEqual([53, 200])
  })
})

describe('DHCP codec: malformed input', () => {
  const bad = (b: Uint8Array, re: RegExp): void => {
    let caught: unknown
    try {
      decodeDhcp(b)
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(LabDecodeError)
    expect((caught as Error).message).toMatch(re)
  }
  it('refuses short messages, no cookie, bad op or hlen, and options past their area', () => {
    bad(new Uint8Array(100), /shorter/)
    const noCookie = Uint8Array.from(DISCOVER)
    noCookie[236] = 0
    bad(noCookie, /magic cookie/)
    const op = Uint8Array.from(DISCOVER)
    op[0] = 9
    bad(op, /op 9/)
    const hlen = Uint8Array.from(DISCOVER)
    hlen[2] = 40
    bad(hlen, /hlen 40/)
    bad(Uint8Array.from([...DISCOVER.subarray(0, 240), 0x0f, 0x40, 0x61]), /runs past/)
    expect(() => decodeSearchList(hex('c000'))).toThrow(/backwards/)
    expect(() => decodeSearchList(hex('05616263'))).toThrow(/runs past/)
    expect(DHCP_MAGIC).toBe(0x63825363)
  })
})

describe('DHCP codec: properties and fuzz', () => {
  const option = fc.tuple(
    fc.integer({ min: 1, max: 254 }).filter((c) => c !== 52),
    fc.uint8Array({ minLength: 1, maxLength: 300 }),
  )
  const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'))
  const messageArb: fc.Arbitrary<DhcpMessage> = fc.record({
    op: fc.constantFrom(1, 2),
    htype: fc.constant(1),
    hlen: fc.constant(6),
    hops: fc.nat(255),
    xid: fc.integer({ min: 0, max: 0xffffffff }),
    secs: fc.nat(0xffff),
    flags: fc.constantFrom(0, 0x8000),
    ciaddr: ip,
    yiaddr: ip,
    siaddr: ip,
    giaddr: ip,
    chaddr: fc
      .uint8Array({ minLength: 6, maxLength: 6 })
      .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':')),
    sname: fc.stringMatching(/^[a-z0-9]{0,20}$/),
    file: fc.stringMatching(/^[a-z0-9/]{0,40}$/),
    options: fc.uniqueArray(option, { selector: (o) => o[0], maxLength: 8 }).map((os) => new Map(os)),
  })

  it('round-trips any message', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(decodeDhcp(encodeDhcp(m))).toEqual(m)
      }),
      { numRuns: 2_000, seed: 67 },
    )
  })

  it('round-trips any search list', () => {
    const label = fc.stringMatching(/^[a-z0-9-]{1,20}$/)
    fc.assert(
      fc.property(
        fc.array(
          fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.')),
          { maxLength: 6 },
        ),
        (names) => {
          expect(decodeSearchList(encodeSearchList(names))).toEqual(names)
        },
      ),
      { numRuns: 2_000, seed: 119 },
    )
  })

  it('fuzz: random and mutated datagrams only ever give a message or a LabDecodeError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.array(fc.tuple(fc.nat(320), fc.nat(255)), { minLength: 1, maxLength: 8 }).map((muts) => {
            const b = Uint8Array.from(DISCOVER)
            for (const [at, v] of muts) b[at % b.length] = v
            return b
          }),
        ),
        (bytes) => {
          try {
            decodeDhcp(bytes)
          } catch (err) {
            expect(err).toBeInstanceOf(LabDecodeError)
          }
        },
      ),
      { numRuns: 30_000, seed: 68 },
    )
  })
})
