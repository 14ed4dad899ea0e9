import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import { authenticate, findUser, type ConnectionAuth, type HttpAuthOptions } from './http.js'
import { NtlmFlag, decodeNtlm, encodeAuthenticate } from './ntlm.js'

const s = loadScenario(
  't.yaml',
  'version: 1\nname: t\nsite: { sipDomain: contoso.test }\nusers:\n  - { signInAddress: alice@contoso.test, password: pw }\n',
)
const options = (kerberos: 'retry' | 'refuse' = 'retry'): HttpAuthOptions => ({
  users: s.users,
  domain: 'CONTOSO',
  host: 'dc1.contoso.test',
  kerberos,
})
const b64 = (t: string): string => Buffer.from(t).toString('base64')
// curl 7.88's NTLM NEGOTIATE (type 1)
const NEGOTIATE = 'TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA='

describe('HTTP authentication as IIS asks for it', () => {
  it('offers Negotiate and NTLM to a request without credentials', () => {
    expect(authenticate(undefined, {}, options())).toMatchObject({
      status: 'challenge',
      headers: ['Negotiate', 'NTLM'],
    })
  })

  it('checks Basic credentials in every name form', () => {
    for (const name of ['alice', 'CONTOSO\\alice', 'alice@contoso.test'])
      expect(authenticate(`Basic ${b64(`${name}:pw`)}`, {}, options())).toMatchObject({
        status: 'ok',
        user: 'alice@contoso.test',
      })
    expect(authenticate(`Basic ${b64('alice:nope')}`, {}, options()).status).toBe('challenge')
    expect(findUser(s.users, 'bob')).toBeUndefined()
  })

  it('answers an NTLM NEGOTIATE with a CHALLENGE in the same scheme, and refuses an AUTHENTICATE out of turn', () => {
    const conn: ConnectionAuth = {}
    const out = authenticate(`NTLM ${NEGOTIATE}`, conn, options())
    expect(out.status).toBe('challenge')
    const header = out.status === 'challenge' ? out.headers[0]! : ''
    expect(header.startsWith('NTLM ')).toBe(true)
    const challenge = decodeNtlm(Buffer.from(header.slice(5), 'base64'))
    expect(challenge).toMatchObject({ type: 2, targetName: 'CONTOSO' })
    expect(challenge.type === 2 && (challenge.flags & NtlmFlag.extendedSessionSecurity) !== 0).toBe(true)
    expect(conn.challenge).toHaveLength(8)
    expect(authenticate(`Negotiate ${NEGOTIATE}`, {}, options())).toMatchObject({
      headers: [expect.stringMatching(/^Negotiate /)],
    })
  })

  it('refuses a Kerberos token once per connection and accepts the retry (the guide’s trace), or always refuses', () => {
    const conn: ConnectionAuth = {}
    const kerberos = `Negotiate ${b64('\x60\x82kerberos-ish')}`
    expect(authenticate(kerberos, conn, options()).status).toBe('challenge')
    expect(authenticate(kerberos, conn, options())).toMatchObject({ status: 'ok', scheme: 'Negotiate' })
    const strict: ConnectionAuth = {}
    expect(authenticate(kerberos, strict, options('refuse')).status).toBe('challenge')
    expect(authenticate(kerberos, strict, options('refuse')).status).toBe('challenge')
  })

  it('keeps an NTLM-authenticated connection authenticated, as IIS does; Basic must come every time', () => {
    const conn: ConnectionAuth = {}
    const challenge = authenticate(`NTLM ${NEGOTIATE}`, conn, options())
    if (challenge.status !== 'challenge') throw new Error('expected a CHALLENGE')
    const type2 = decodeNtlm(Buffer.from(challenge.headers[0]!.split(' ')[1]!, 'base64'))
    if (type2.type !== 2) throw new Error('expected a CHALLENGE')
    const type3 = encodeAuthenticate({
      challenge: type2,
      user: 'alice',
      domain: 'CONTOSO',
      password: 'pw',
      workstation: 'W',
    })
    expect(authenticate(`NTLM ${Buffer.from(type3).toString('base64')}`, conn, options()).status).toBe('ok')
    expect(authenticate(undefined, conn, options())).toMatchObject({
      status: 'ok',
      user: 'alice@contoso.test',
      scheme: 'NTLM',
    })
    expect(authenticate(undefined, {}, options()).status).toBe('challenge')
    const basic: ConnectionAuth = {}
    expect(authenticate(`Basic ${b64('alice:pw')}`, basic, options()).status).toBe('ok')
    expect(authenticate(undefined, basic, options()).status).toBe('challenge')
  })
})
