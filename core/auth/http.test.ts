import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import { authenticate, findUser, type ConnectionAuth, type HttpAuthOptions } from './http.js'
import { NtlmFlag, decodeNtlm, encodeAuthenticate } from './ntlm.js'
import { ReplayCache } from './krb5/acceptor.js'
import { apReqFor } from '../../test/helpers/kerberos.js'
import { KerberosRealm } from './krb5/realm.js'
import { KrbTokId, Mech, NegState, krb5Token, negTokenInit, negTokenResp, readGssToken } from './spnego.js'

const s = loadScenario(
  't.yaml',
  'version: 1\nname: t\nsite: { sipDomain: contoso.test }\nusers:\n  - { signInAddress: alice@contoso.test, password: pw }\n',
)
const realm = new KerberosRealm(Buffer.alloc(32, 3), s.site, s.users, s.hosts)
const NOW = Date.UTC(2026, 10, 29, 4, 0, 0)
const options = (
  kerberos: 'retry' | 'refuse' | 'accept' = 'retry',
  replay = new ReplayCache(),
): HttpAuthOptions => ({
  users: s.users,
  domain: 'CONTOSO',
  host: 'dc1.contoso.test',
  kerberos,
  krb5: { realm, nowMs: NOW, maxSkewMs: 300_000, replay },
})

/** A service ticket for HTTP/<host> as the lab's KDC would seal it, and a fresh authenticator, in SPNEGO. */
function kerberosHeader(host = 'dc1.contoso.test', ctime = NOW, mutual = true): string {
  const apReq = apReqFor(realm, `HTTP/${host}`, { now: NOW, ctime, mutual })
  return `Negotiate ${Buffer.from(negTokenInit([Mech.msKrb5, Mech.krb5], krb5Token(KrbTokId.apReq, apReq, Mech.msKrb5))).toString('base64')}`
}
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

  it('refuses a good Kerberos ticket once per connection and accepts the retry (the guide’s trace), or always refuses', () => {
    const conn: ConnectionAuth = {}
    const replay = new ReplayCache()
    expect(authenticate(kerberosHeader(), conn, options('retry', replay))).toMatchObject({
      status: 'challenge',
      detail: expect.stringContaining('refused once'),
    })
    const ok = authenticate(kerberosHeader(), conn, options('retry', replay))
    expect(ok).toMatchObject({ status: 'ok', scheme: 'Negotiate', user: 'alice@contoso.test' })
    // Mutual authentication: the AP-REP inside SPNEGO's accept-completed, under the client's (Microsoft) OID.
    const reply = ok.status === 'ok' ? ok.headers?.[0] : undefined
    expect(reply).toMatch(/^Negotiate /)
    const strict: ConnectionAuth = {}
    expect(authenticate(kerberosHeader(), strict, options('refuse')).status).toBe('challenge')
    expect(authenticate(kerberosHeader(), strict, options('refuse')).status).toBe('challenge')
  })

  it('refuses what Windows refuses: a fake token, another host’s ticket, a skewed clock, a replay', () => {
    const o = options('accept')
    const detail = (header: string) => {
      const out = authenticate(header, {}, o)
      return out.status === 'challenge' ? out.detail : 'accepted'
    }
    expect(detail(`Negotiate ${b64('\x60\x82kerberos-ish')}`)).toContain('Negotiate token of')
    expect(detail(kerberosHeader('mail.contoso.test'))).toContain('KRB_AP_ERR_MODIFIED')
    expect(detail(kerberosHeader('dc1.contoso.test', NOW + 600_000))).toContain('KRB_AP_ERR_SKEW')
    const once = kerberosHeader()
    expect(detail(once)).toBe('accepted')
    expect(detail(once)).toContain('KRB_AP_ERR_REPEAT')
  })

  it('speaks NTLM inside SPNEGO: the CHALLENGE and the last word in NegTokenResp', () => {
    const conn: ConnectionAuth = {}
    const first = authenticate(
      `Negotiate ${Buffer.from(negTokenInit([Mech.ntlm], Buffer.from(NEGOTIATE, 'base64'))).toString('base64')}`,
      conn,
      options(),
    )
    if (first.status !== 'challenge') throw new Error('expected a CHALLENGE')
    const resp = readGssToken(Buffer.from(first.headers[0]!.split(' ')[1]!, 'base64'))
    if (resp.kind !== 'resp') throw new Error(resp.kind)
    const type2 = decodeNtlm(resp.mechToken!)
    if (type2.type !== 2) throw new Error('expected a CHALLENGE')
    const type3 = encodeAuthenticate({
      challenge: type2,
      user: 'alice',
      domain: 'CONTOSO',
      password: 'pw',
      workstation: 'W',
    })
    const done = authenticate(
      `Negotiate ${Buffer.from(negTokenResp(NegState.acceptIncomplete, undefined, type3)).toString('base64')}`,
      conn,
      options(),
    )
    expect(done).toMatchObject({
      status: 'ok',
      user: 'alice@contoso.test',
      detail: expect.stringContaining('(in SPNEGO)'),
    })
    expect(
      readGssToken(Buffer.from((done.status === 'ok' ? done.headers![0]! : '').split(' ')[1]!, 'base64')),
    ).toEqual({ kind: 'resp', state: 0 })
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
