import { describe, expect, it } from 'vitest'
import { ReplayCache } from '../../core/auth/krb5/acceptor.js'
import { randomKey } from '../../core/auth/krb5/crypto.js'
import { decodeApRep } from '../../core/auth/krb5/messages.js'
import { KerberosRealm } from '../../core/auth/krb5/realm.js'
import { unwrapInitiator, wrapAcceptor } from '../../core/auth/krb5/wrap.js'
import {
  KrbTokId,
  Mech,
  NegState,
  krb5Token,
  negTokenInit,
  negTokenResp,
  readGssToken,
  readKrb5Token,
} from '../../core/auth/spnego.js'
import { decodeNtlm, encodeAuthenticate, encodeNegotiate } from '../../core/auth/ntlm.js'
import { loadScenario } from '../../lab/scenario/load.js'
import { apReqFor } from '../../test/helpers/kerberos.js'
import { LdapResult } from './codec.js'
import { buildDirectory } from './directory.js'
import { saslBind, type SaslContext } from './sasl.js'

const s = loadScenario(
  't.yaml',
  'version: 1\nname: t\nsite: { sipDomain: contoso.test }\nusers:\n  - { signInAddress: alice@contoso.test, password: pw }\n',
)
const NOW = Date.UTC(2026, 10, 29, 4, 0, 0)
const realm = new KerberosRealm(Buffer.alloc(32, 5), s.site, s.users, s.hosts)
const ROOT = Buffer.from('root')
const ctx = (): SaslContext => ({
  domain: 'CONTOSO',
  realm,
  host: 'dc1.contoso.test',
  nowMs: NOW,
  replay: new ReplayCache(),
  directory: buildDirectory({
    site: s.site,
    hosts: s.hosts,
    users: s.users,
    pki: { root: ROOT, issuing: ROOT, caObjects: 'lab', enrollmentService: true },
  }),
})

/** A Wrap token in the acceptor's direction: what a client must never send as its own (RFC 4121 §4.2.2). */
const acceptorDirection = (key: { etype: number; bytes: Uint8Array }, layer: number): Uint8Array =>
  wrapAcceptor(key, 7n, Uint8Array.of(layer, 0, 0, 0))

describe('SASL binds with Kerberos (ADR 0015)', () => {
  it('GSSAPI: AP-REP, then the security-layer offer in a Wrap token; the client’s choice of a layer is refused', () => {
    const c = ctx()
    const subkey = randomKey(18)
    const token = krb5Token(KrbTokId.apReq, apReqFor(realm, 'ldap/dc1.contoso.test', { now: NOW, subkey }))
    const first = saslBind('GSSAPI', token, undefined, c)
    expect(first).toMatchObject({ code: LdapResult.saslBindInProgress })
    expect(readKrb5Token(first.creds!).tokId).toBe(KrbTokId.apRep)
    expect(decodeApRep(readKrb5Token(first.creds!).message).etype).toBe(18)
    const second = saslBind('GSSAPI', undefined, first.next, c)
    expect(second.code).toBe(LdapResult.saslBindInProgress)
    expect(Buffer.from(second.creds!.subarray(0, 4)).toString('hex')).toBe('050401ff')
    // A token in the acceptor's direction is not the client's: refused.
    expect(saslBind('GSSAPI', acceptorDirection(subkey, 1), second.next, c).code).toBe(
      LdapResult.invalidCredentials,
    )
    expect(() => unwrapInitiator(subkey, acceptorDirection(subkey, 1))).toThrow(/sent by the acceptor/)
  })

  it('GSS-SPNEGO with NTLM inside: CHALLENGE in accept-incomplete, then the AUTHENTICATE checked as the DC checks it', () => {
    const c = ctx()
    const first = saslBind('GSS-SPNEGO', negTokenInit([Mech.ntlm], encodeNegotiate()), undefined, c)
    expect(first.code).toBe(LdapResult.saslBindInProgress)
    const resp = readGssToken(first.creds!)
    if (resp.kind !== 'resp') throw new Error(resp.kind)
    const challenge = decodeNtlm(resp.mechToken!)
    if (challenge.type !== 2) throw new Error('expected a CHALLENGE')
    const type3 = (password: string) =>
      negTokenResp(
        NegState.acceptIncomplete,
        undefined,
        encodeAuthenticate({ challenge, user: 'alice', domain: 'CONTOSO', password, workstation: 'CX700' }),
      )
    expect(saslBind('GSS-SPNEGO', type3('wrong'), first.next, c)).toMatchObject({
      code: LdapResult.invalidCredentials,
      message: expect.stringContaining('data 52e'),
    })
    expect(saslBind('GSS-SPNEGO', type3('pw'), first.next, c)).toMatchObject({
      code: LdapResult.success,
      account: { user: { signInAddress: 'alice@contoso.test' } },
    })
  })

  it('GSS-SPNEGO: one leg, the AP-REP inside accept-completed; other mechanisms are not supported', () => {
    const apReq = apReqFor(realm, 'ldap/dc1.contoso.test', { now: NOW })
    const init = negTokenInit([Mech.msKrb5], krb5Token(KrbTokId.apReq, apReq, Mech.msKrb5))
    const done = saslBind('GSS-SPNEGO', init, undefined, ctx())
    expect(done).toMatchObject({
      code: LdapResult.success,
      account: { user: { signInAddress: 'alice@contoso.test' } },
    })
    expect(readGssToken(done.creds!)).toMatchObject({ kind: 'resp', state: 0 })
    expect(saslBind('DIGEST-MD5', undefined, undefined, ctx()).code).toBe(LdapResult.authMethodNotSupported)
    const http = apReqFor(realm, 'HTTP/ocspool.contoso.test', { now: NOW })
    expect(saslBind('GSSAPI', krb5Token(KrbTokId.apReq, http), undefined, ctx())).toMatchObject({
      code: LdapResult.invalidCredentials,
      why: expect.stringContaining('KRB_AP_ERR_MODIFIED'),
    })
  })
})
