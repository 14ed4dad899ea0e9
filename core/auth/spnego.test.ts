import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../errors.js'
import {
  KrbTokId,
  Mech,
  NegState,
  krb5Token,
  negTokenInit,
  negTokenResp,
  readGssToken,
  readKrb5Token,
} from './spnego.js'

const NTLM_NEGOTIATE = Buffer.from('TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=', 'base64')

describe('GSS-API tokens: SPNEGO (RFC 4178) and Kerberos (RFC 4121)', () => {
  it('reads a NegTokenInit offering Kerberos, Microsoft’s OID first, with its AP-REQ token', () => {
    const apReq = Buffer.from('6e0a3008a003020105', 'hex')
    const token = negTokenInit(
      [Mech.msKrb5, Mech.krb5, Mech.ntlm],
      krb5Token(KrbTokId.apReq, apReq, Mech.msKrb5),
    )
    const g = readGssToken(token)
    if (g.kind !== 'init') throw new Error(g.kind)
    expect(g.mechs).toEqual([Mech.msKrb5, Mech.krb5, Mech.ntlm])
    expect(readKrb5Token(g.mechToken!)).toEqual({ tokId: 0x0100, message: apReq, mech: Mech.msKrb5 })
  })

  it('reads a bare Kerberos token, bare NTLMSSP, and a NegTokenResp', () => {
    expect(readGssToken(krb5Token(KrbTokId.apReq, Buffer.from([1, 2])))).toMatchObject({
      kind: 'krb5',
      tokId: 0x0100,
    })
    expect(readGssToken(NTLM_NEGOTIATE)).toMatchObject({ kind: 'ntlm' })
    expect(readGssToken(negTokenResp(NegState.acceptIncomplete, Mech.ntlm, NTLM_NEGOTIATE))).toEqual({
      kind: 'resp',
      state: 1,
      mechToken: NTLM_NEGOTIATE,
    })
  })

  it('fuzz: random and mutated tokens only ever give a token or a LabDecodeError', () => {
    const seed = negTokenInit([Mech.krb5], krb5Token(KrbTokId.apReq, Buffer.alloc(40, 7)))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { minLength: 1, maxLength: 5 }).map((m) => {
            const b = Buffer.from(seed)
            for (const [at, v] of m) b[at % b.length] = v
            return b
          }),
        ),
        (b) => {
          try {
            const g = readGssToken(b)
            if (g.kind === 'init' && g.mechToken) readKrb5Token(g.mechToken)
          } catch (err) {
            expect(err).toBeInstanceOf(LabDecodeError)
          }
        },
      ),
      { numRuns: 20_000, seed: 4178 },
    )
  })
})
