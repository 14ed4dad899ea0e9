import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../core/errors.js'
import {
  SipFramer,
  encodeSip,
  paramOf,
  parseAuthParams,
  uriOf,
  type SipMessage,
  type SipRequest,
} from './codec.js'

const REGISTER =
  'REGISTER sip:contoso.test SIP/2.0\r\n' +
  'Via: SIP/2.0/TLS 10.50.0.20:1032;branch=z9hG4bK1\r\n' +
  'Max-Forwards: 70\r\n' +
  'From: <sip:alice@contoso.test>;tag=a1\r\n' +
  't: <sip:alice@contoso.test>\r\n' +
  'i: 1@10.50.0.20\r\n' +
  'CSeq: 1 REGISTER\r\n' +
  'Contact: <sip:10.50.0.20:1032;transport=tls>;methods="INVITE, MESSAGE"\r\n' +
  'Subject: folded\r\n value\r\n' +
  'Content-Length: 4\r\n' +
  '\r\n' +
  'body'

const requests = (out: (SipMessage | 'ping' | 'pong')[]): SipRequest[] =>
  out.filter((m): m is SipRequest => typeof m !== 'string' && m.kind === 'request')

describe('SIP framing and parsing', () => {
  it('parses a request: compact forms, folding, body by Content-Length', () => {
    const [r] = requests(new SipFramer().push(Buffer.from(REGISTER)))
    expect(r?.method).toBe('REGISTER')
    expect(r?.uri).toBe('sip:contoso.test')
    expect(r?.headers.get('to')).toBe('<sip:alice@contoso.test>')
    expect(r?.headers.get('Call-ID')).toBe('1@10.50.0.20')
    expect(r?.headers.get('subject')).toBe('folded value')
    expect(r?.body.toString()).toBe('body')
  })

  it('frames a REGISTER split at every point, and pipelined messages with keep-alives between', () => {
    const bytes = Buffer.from(REGISTER)
    for (let cut = 1; cut < bytes.length; cut++) {
      const f = new SipFramer()
      const out = [...f.push(bytes.subarray(0, cut)), ...f.push(bytes.subarray(cut))]
      expect(requests(out), `cut at ${cut}`).toHaveLength(1)
      expect(f.pending).toBe(0)
    }
    const f = new SipFramer()
    const out = f.push(Buffer.from(`${REGISTER}\r\n\r\n${REGISTER}${REGISTER}`))
    expect(out.filter((m) => m === 'ping')).toHaveLength(1)
    expect(requests(out)).toHaveLength(3)
  })

  it('refuses oversized headers and bodies, bad Content-Length and bad start lines', () => {
    const err = (text: string): string => {
      try {
        new SipFramer().push(Buffer.from(text))
      } catch (e) {
        expect(e).toBeInstanceOf(LabDecodeError)
        return (e as Error).message
      }
      return 'no error'
    }
    expect(err(`REGISTER sip:a SIP/2.0\r\nX: ${'a'.repeat(20_000)}`)).toContain('headers longer than 16384')
    expect(err('REGISTER sip:a SIP/2.0\r\nContent-Length: 999999\r\n\r\n')).toContain('a body of 999999')
    expect(err('REGISTER sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n')).toContain('not a number')
    expect(err('HELLO\r\n\r\n')).toContain('malformed request line')
    expect(err(`R sip:a SIP/2.0\r\n${'X: 1\r\n'.repeat(101)}\r\n`)).toContain('more than 100 header fields')
  })

  it('encodes with Content-Length from the body, and reads params, URIs and credentials', () => {
    const [r] = requests(new SipFramer().push(Buffer.from(REGISTER)))
    const again = requests(new SipFramer().push(encodeSip(r!)))[0]
    expect(again?.headers.entries).toEqual(r?.headers.entries)
    expect(uriOf('"Alice" <sip:alice@contoso.test>;tag=1')).toBe('sip:alice@contoso.test')
    expect(paramOf('<sip:a@b>;tag=xyz;epid=1', 'tag')).toBe('xyz')
    expect(
      parseAuthParams(
        'NTLM qop="auth", realm="SIP Communications Service", opaque="AB12", gssapi-data="TlRM", version=3',
      ),
    ).toEqual({
      scheme: 'ntlm',
      params: {
        qop: 'auth',
        realm: 'SIP Communications Service',
        opaque: 'AB12',
        'gssapi-data': 'TlRM',
        version: '3',
      },
    })
  })

  it('never throws anything but LabDecodeError on random or mutated streams (fuzz)', () => {
    const mutated = fc
      .tuple(fc.nat({ max: REGISTER.length }), fc.string({ maxLength: 20 }), fc.nat({ max: 30 }))
      .map(([at, ins, cut]) => REGISTER.slice(0, at) + ins + REGISTER.slice(at + cut))
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 400 }), mutated), fc.nat({ max: 50 }), (text, split) => {
        const f = new SipFramer()
        const b = Buffer.from(text)
        try {
          f.push(b.subarray(0, split))
          f.push(b.subarray(split))
        } catch (err) {
          if (!(err instanceof LabDecodeError)) throw err
        }
      }),
      { numRuns: 5000, seed: 3 },
    )
  })
})
