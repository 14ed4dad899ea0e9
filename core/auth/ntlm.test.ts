import fc from 'fast-check'
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../errors.js'
import {
  NtlmFlag,
  decodeNtlm,
  desl,
  encodeAuthenticate,
  ntlmv2SessionKey,
  encodeChallenge,
  encodeNegotiate,
  md4,
  ntProofStr,
  ntowfv1,
  ntowfv2,
  targetInfo,
  verifyNtlm,
  type NtlmMessage,
} from './ntlm.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

// [MS-NLMP] §4.2.1 common values: User "User", UserDom "Domain", Passwd "Password", ServerName "Server",
// ServerChallenge 0123456789abcdef, ClientChallenge aaaaaaaaaaaaaaaa, Time 0.
const SERVER_CHALLENGE = hex('0123456789abcdef')
const CLIENT_CHALLENGE = hex('aaaaaaaaaaaaaaaa')

/** An AUTHENTICATE as a client sends it, with the given responses (offsets laid out after the 64-octet header). */
function authenticate(
  lm: Uint8Array,
  nt: Uint8Array,
  flags: number,
  user = 'User',
  domain = 'Domain',
): Uint8Array {
  const d = Buffer.from(domain, 'utf16le')
  const u = Buffer.from(user, 'utf16le')
  const w = Buffer.from('COMPUTER', 'utf16le')
  const head = Buffer.alloc(64)
  head.write('NTLMSSP\0', 0, 'latin1')
  head.writeUInt32LE(3, 8)
  let off = 64
  const put = (at: number, data: Uint8Array): void => {
    head.writeUInt16LE(data.length, at)
    head.writeUInt16LE(data.length, at + 2)
    head.writeUInt32LE(off, at + 4)
    off += data.length
  }
  put(12, lm)
  put(20, nt)
  put(28, d)
  put(36, u)
  put(44, w)
  head.writeUInt32LE(flags >>> 0, 60)
  return new Uint8Array(Buffer.concat([head, lm, nt, d, u, w]))
}

function asAuth(m: NtlmMessage): Extract<NtlmMessage, { type: 3 }> {
  if (m.type !== 3) throw new Error(`type ${m.type}`)
  return m
}

describe('MD4 (RFC 1320 §A.5 test suite)', () => {
  it.each([
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      'e33b4ddc9c38f2199c3e7b164fcc0536',
    ],
  ])('md4(%j)', (input, digest) => {
    expect(toHex(md4(Buffer.from(input, 'latin1')))).toBe(digest)
  })
})

describe('NTLM one-way functions and responses ([MS-NLMP] §4.2)', () => {
  it('NTOWFv1 and the NTLMv1 response (§4.2.2)', () => {
    expect(toHex(ntowfv1('Password'))).toBe('a4f49c406510bdcab6824ee7c30fd852')
    expect(toHex(desl(ntowfv1('Password'), SERVER_CHALLENGE))).toBe(
      '67c43011f30298a2ad35ece64f16331c44bdbed927841f94',
    )
  })

  it('NTOWFv2 and the NTLMv2 proof over the §4.2.4 temp (AV pairs: domain "Domain", server "Server")', () => {
    const key = ntowfv2('Password', 'User', 'Domain')
    expect(toHex(key)).toBe('0c868a403bfd7a93a3001ef22ef02e3f')
    const temp = Buffer.concat([
      hex('0101 0000 00000000'),
      hex('0000000000000000'), // time
      CLIENT_CHALLENGE,
      hex('00000000'),
      targetInfo([
        [2, 'Domain'],
        [1, 'Server'],
      ]),
      hex('00000000'),
    ])
    expect(toHex(ntProofStr(key, SERVER_CHALLENGE, temp))).toBe('68cd0ab851e51c96aabc927bebef6a1c')
    // LMv2 (§4.2.4.2.1): HMAC-MD5(ResponseKeyLM, ServerChallenge + ClientChallenge) + ClientChallenge
    const lm = createHmac('md5', key).update(SERVER_CHALLENGE).update(CLIENT_CHALLENGE).digest()
    expect(toHex(lm)).toBe('86c35097ac9cec102554764a57cccc19')
    // SessionBaseKey (§4.2.4.1.2): what signs later messages when no key is exchanged.
    const auth = {
      type: 3 as const,
      flags: 0,
      lmResponse: new Uint8Array(24),
      ntResponse: Buffer.concat([ntProofStr(key, SERVER_CHALLENGE, temp), temp]),
      domain: 'Domain',
      user: 'User',
      workstation: 'COMPUTER',
      encryptedSessionKey: new Uint8Array(0),
    }
    expect(toHex(ntlmv2SessionKey(auth, 'Password')!)).toBe('8de40ccadbc14a82f15cb0ad0de95ca3')
    expect(ntlmv2SessionKey({ ...auth, ntResponse: new Uint8Array(24) }, 'Password')).toBeUndefined()
  })
})

describe('verifying what a client sent', () => {
  const v2Temp = Buffer.concat([
    hex('0101 0000 00000000 0000000000000000'),
    CLIENT_CHALLENGE,
    hex('00000000'),
    targetInfo([[2, 'Domain']]),
    hex('00000000'),
  ])
  const v2 = (password: string): Uint8Array => {
    const proof = ntProofStr(ntowfv2(password, 'User', 'Domain'), SERVER_CHALLENGE, v2Temp)
    return Buffer.concat([proof, v2Temp])
  }

  it('accepts NTLMv2 with the right password (user name in any case) and refuses a wrong one', () => {
    const flags = NtlmFlag.unicode | NtlmFlag.ntlm | NtlmFlag.extendedSessionSecurity
    expect(
      verifyNtlm(
        asAuth(decodeNtlm(authenticate(new Uint8Array(24), v2('Password'), flags))),
        SERVER_CHALLENGE,
        'Password',
      ),
    ).toBe('NTLMv2')
    expect(
      verifyNtlm(
        asAuth(decodeNtlm(authenticate(new Uint8Array(24), v2('Password'), flags, 'USER'))),
        SERVER_CHALLENGE,
        'Password',
      ),
    ).toBe('NTLMv2')
    expect(
      verifyNtlm(
        asAuth(decodeNtlm(authenticate(new Uint8Array(24), v2('nope'), flags))),
        SERVER_CHALLENGE,
        'Password',
      ),
    ).toBeUndefined()
  })

  it('accepts NTLMv1 and NTLMv1 with extended session security', () => {
    const v1 = desl(ntowfv1('Password'), SERVER_CHALLENGE)
    expect(
      verifyNtlm(
        asAuth(decodeNtlm(authenticate(new Uint8Array(24), v1, NtlmFlag.unicode))),
        SERVER_CHALLENGE,
        'Password',
      ),
    ).toBe('NTLMv1')
    // [MS-NLMP] §4.2.3: with ESS the LM field carries the client challenge; NT = DESL(NT hash, MD5(SC + CC)[0..8]).
    const ess = hex('7537f803ae367128ca458204bde7caf81e97ed2683267232')
    const lm = Buffer.concat([CLIENT_CHALLENGE, Buffer.alloc(16)])
    const auth = asAuth(
      decodeNtlm(authenticate(lm, ess, NtlmFlag.unicode | NtlmFlag.extendedSessionSecurity)),
    )
    expect(verifyNtlm(auth, SERVER_CHALLENGE, 'Password')).toBe('NTLMv1-ESS')
    expect(verifyNtlm(auth, SERVER_CHALLENGE, 'Passw0rd')).toBeUndefined()
  })

  it('reads the user, domain and workstation from an AUTHENTICATE', () => {
    const m = asAuth(
      decodeNtlm(authenticate(new Uint8Array(24), new Uint8Array(24), NtlmFlag.unicode, 'alice', 'CONTOSO')),
    )
    expect({ user: m.user, domain: m.domain, workstation: m.workstation }).toEqual({
      user: 'alice',
      domain: 'CONTOSO',
      workstation: 'COMPUTER',
    })
  })
})

describe('NTLM messages', () => {
  it('writes a CHALLENGE that reads back', () => {
    const info = targetInfo([
      [2, 'CONTOSO'],
      [1, 'DC1'],
      [4, 'contoso.test'],
    ])
    const bytes = encodeChallenge({
      flags: NtlmFlag.unicode | NtlmFlag.ntlm | NtlmFlag.targetInfo,
      serverChallenge: SERVER_CHALLENGE,
      targetName: 'CONTOSO',
      targetInfo: info,
    })
    const m = decodeNtlm(bytes)
    expect(m).toMatchObject({ type: 2, targetName: 'CONTOSO' })
    expect(m.type === 2 && toHex(m.serverChallenge)).toBe('0123456789abcdef')
    expect(m.type === 2 && toHex(m.targetInfo)).toBe(toHex(info))
  })

  it('reads a NEGOTIATE as curl --ntlm sends it', () => {
    // TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA= (curl 7.88: NTLMSSP, type 1, flags 0x00088206, empty fields)
    const m = decodeNtlm(Buffer.from('TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=', 'base64'))
    expect(m).toEqual({ type: 1, flags: 0x00088206, domain: '', workstation: '' })
  })

  it('fuzz: random and mutated messages only ever give a message or a LabDecodeError', () => {
    const valid = authenticate(new Uint8Array(24), new Uint8Array(40), NtlmFlag.unicode)
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }),
          fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { minLength: 1, maxLength: 6 }).map((muts) => {
            const b = Uint8Array.from(valid)
            for (const [at, v] of muts) b[at % b.length] = v
            return b
          }),
        ),
        (bytes) => {
          try {
            decodeNtlm(bytes)
          } catch (err) {
            expect(err).toBeInstanceOf(LabDecodeError)
          }
        },
      ),
      { numRuns: 20_000, seed: 1320 },
    )
  })
})

describe('NTLM client side (the emulated phone)', () => {
  it('answers a CHALLENGE with an NTLMv2 AUTHENTICATE that the lab verifies, and a wrong password it refuses', () => {
    const serverChallenge = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
    const message = decodeNtlm(
      encodeChallenge({
        flags: NtlmFlag.unicode | NtlmFlag.ntlm | NtlmFlag.targetInfo,
        serverChallenge,
        targetName: 'CORP',
        targetInfo: targetInfo([[2, 'CORP']]),
      }),
    )
    if (message.type !== 2) throw new Error('expected a CHALLENGE')
    const auth = decodeNtlm(
      encodeAuthenticate({
        challenge: message,
        user: 'alice',
        domain: 'CORP',
        password: 'Passw0rd!',
        workstation: 'CX700',
      }),
    )
    if (auth.type !== 3) throw new Error('expected an AUTHENTICATE')
    expect(auth).toMatchObject({ user: 'alice', domain: 'CORP', workstation: 'CX700' })
    expect(verifyNtlm(auth, serverChallenge, 'Passw0rd!')).toBe('NTLMv2')
    expect(verifyNtlm(auth, serverChallenge, 'wrong')).toBeUndefined()
    expect(decodeNtlm(encodeNegotiate()).type).toBe(1)
  })
})
