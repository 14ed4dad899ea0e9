import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../core/errors.js'
import {
  NbOpcode,
  NbType,
  decodeName,
  decodeNb,
  decodeNbAddresses,
  encodeName,
  encodeNb,
  encodeNbAddresses,
  nameText,
  parseNameText,
  type NbPacket,
  type NbResource,
  type NetbiosName,
} from './codec.js'

/** `nmblookup -U 127.0.0.2 --recursion 'CORP#1c'` (Samba 4.17), as it went on the wire. */
const NMBLOOKUP_QUERY = Buffer.from(
  '2f3d0100000100000000000020454445504643464143414341434143414341434143414341434143414341424d0000200001',
  'hex',
)

describe('NetBIOS name service codec (RFC 1002 §4.2)', () => {
  it('reads a real nmblookup query: CORP<1C>, type NB, recursion desired', () => {
    const p = decodeNb(NMBLOOKUP_QUERY)
    expect(p).toMatchObject({ id: 0x2f3d, response: false, opcode: NbOpcode.query, rcode: 0 })
    expect(p.flags).toMatchObject({ rd: true, broadcast: false })
    expect(p.questions).toEqual([
      { name: { name: 'CORP', suffix: 0x1c, scope: '' }, type: NbType.NB, class: 1 },
    ])
    expect(Buffer.from(encodeNb(p))).toEqual(NMBLOOKUP_QUERY)
  })

  it('encodes names as RFC 1001 §14.1 does: "FRED" → EGFCEFEECACACACACACACACACACACACA', () => {
    const bytes = encodeName({ name: 'FRED', suffix: 0x20, scope: '' })
    expect(Buffer.from(bytes.subarray(1, 33)).toString('latin1')).toBe('EGFCEFEECACACACACACACACACACACACA')
    const scoped = encodeName({ name: 'FRED', suffix: 0x20, scope: 'netbios.com' })
    expect(decodeName(scoped, 0).name).toEqual({ name: 'FRED', suffix: 0x20, scope: 'netbios.com' })
  })

  it('follows a label pointer to the question name, and refuses a pointer loop', () => {
    const question = Buffer.from(NMBLOOKUP_QUERY)
    const answer = Buffer.concat([question.subarray(0, 50), Buffer.from([0xc0, 0x0c])])
    expect(decodeName(answer, 50).name.name).toBe('CORP')
    const loop = Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 0x0c])])
    expect(() => decodeName(loop, 12)).toThrow(LabDecodeError)
  })

  it('writes names as nbtstat does and reads nmblookup’s form too', () => {
    expect(nameText({ name: 'CORP', suffix: 0x1c, scope: '' })).toBe('CORP<1C>')
    expect(parseNameText('corp#1c')).toEqual({ name: 'CORP', suffix: 0x1c, scope: '' })
    expect(parseNameText('DC1<20>')).toEqual({ name: 'DC1', suffix: 0x20, scope: '' })
    expect(parseNameText('MUCH-TOO-LONG-A-NAME')).toBeUndefined()
  })

  it('packs owners in NB data: group bit, node type, address', () => {
    const owners = [
      { group: true, ont: 3, address: '10.50.0.1' },
      { group: false, ont: 1, address: '10.50.0.2' },
    ]
    const data = encodeNbAddresses(owners)
    expect(Buffer.from(data).toString('hex')).toBe('e0000a3200012000' + '0a320002')
    expect(decodeNbAddresses(data)).toEqual(owners)
    expect(() => decodeNbAddresses(new Uint8Array(5))).toThrow(LabDecodeError)
  })
})

const nameArb: fc.Arbitrary<NetbiosName> = fc.record({
  name: fc.stringMatching(/^[A-Z0-9-]{1,15}$/),
  suffix: fc.nat(255),
  scope: fc.constantFrom('', 'lab', 'corp.contoso.test'),
})
const resourceArb: fc.Arbitrary<NbResource> = fc.record({
  name: nameArb,
  type: fc.constantFrom(NbType.NB, NbType.NULL),
  class: fc.constant(1),
  ttl: fc.nat(),
  data: fc.uint8Array({ maxLength: 24 }),
})
const packetArb: fc.Arbitrary<NbPacket> = fc.record({
  id: fc.nat(0xffff),
  response: fc.boolean(),
  opcode: fc.constantFrom(0, 5, 6, 8, 9, 15),
  flags: fc.record({
    aa: fc.boolean(),
    tc: fc.boolean(),
    rd: fc.boolean(),
    ra: fc.boolean(),
    broadcast: fc.boolean(),
  }),
  rcode: fc.nat(7),
  questions: fc.array(
    fc.record({ name: nameArb, type: fc.constantFrom(0x20, 0x21), class: fc.constant(1) }),
    {
      maxLength: 2,
    },
  ),
  answers: fc.array(resourceArb, { maxLength: 2 }),
  authority: fc.array(resourceArb, { maxLength: 1 }),
  additional: fc.array(resourceArb, { maxLength: 2 }),
})

describe('NetBIOS codec: properties and fuzz', () => {
  it('round-trips any packet: decode(encode(p)) equals p', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        expect(decodeNb(encodeNb(p))).toEqual(p)
      }),
      { numRuns: 2_000, seed: 137 },
    )
  })

  it('fuzz: random bytes only ever give a packet or a LabDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeNb(bytes)
        } catch (err) {
          expect(err).toBeInstanceOf(LabDecodeError)
        }
      }),
      { numRuns: 20_000, seed: 138 },
    )
  })

  it('fuzz: mutated and cut real queries only ever give a packet or a LabDecodeError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { minLength: 1, maxLength: 6 }),
        fc.nat(50),
        (mutations, cut) => {
          const b = Uint8Array.from(NMBLOOKUP_QUERY)
          for (const [at, v] of mutations) b[at % b.length] = v
          try {
            decodeNb(b.subarray(0, b.length - cut))
          } catch (err) {
            expect(err).toBeInstanceOf(LabDecodeError)
          }
        },
      ),
      { numRuns: 20_000, seed: 139 },
    )
  })
})
