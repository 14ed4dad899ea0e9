import { createHash } from 'node:crypto'
import ntlm from '@ewsjs/ntlm-client'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import { parseXml, path, children } from '../../core/xml.js'
import { REALM, SecurityAssociations, answer, type SipConnection, type SipContext } from './behaviour.js'
import { SipFramer, parseAuthParams, type SipRequest } from './codec.js'
import { ReplayCache } from '../../core/auth/krb5/acceptor.js'
import { KerberosRealm } from '../../core/auth/krb5/realm.js'
import { KrbTokId, krb5Token } from '../../core/auth/spnego.js'
import { apReqFor } from '../../test/helpers/kerberos.js'

const scenario = loadScenario(
  't.yaml',
  `version: 1
name: t
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - { signInAddress: alice@contoso.test, password: Passw0rd!, displayName: Alice Anders }
  - { signInAddress: bob@contoso.test, password: other, umEnabled: false }
  - { signInAddress: carol@contoso.test, password: pw3, ocsEnabled: false }
  - { signInAddress: dave@contoso.test, password: pw4, disabled: true }
`,
)
const realm = new KerberosRealm(Buffer.alloc(32, 9), scenario.site, scenario.users, scenario.hosts)
const slice = (over: Partial<SipContext['slice']['block']> = {}): SipContext['slice'] => ({
  block: { ...scenario.servers.sip, ...over },
  site: scenario.site,
  users: scenario.users,
  pool: 'ocspool.contoso.test',
})
const ctx = (over: Partial<SipContext> = {}): SipContext => ({
  slice: slice(),
  now: new Date('2026-11-25T10:00:00Z'),
  urls: {
    dus: {
      internal: 'https://ocspool.contoso.test/RequestHandler/ucdevice.upx',
      external: 'https://ocspool.contoso.test/RequestHandlerExt/ucdevice.upx',
    },
    abs: { internal: 'https://ocspool.contoso.test/abs/int/handler', external: 'https://x/abs/ext/handler' },
  },
  ...over,
})

let cseq = 0
function request(method: string, user: string, headers: string[] = []): SipRequest {
  cseq++
  const text =
    `${method} sip:contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS 10.50.0.20:1032;branch=z9hG4bK${cseq}\r\n` +
    `From: <sip:${user}>;tag=f${cseq}\r\nTo: <sip:${user}>\r\nCall-ID: c1\r\nCSeq: ${cseq} ${method}\r\n` +
    `Contact: <sip:10.50.0.20:1032;transport=tls>\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Length: 0\r\n\r\n`
  return new SipFramer().push(Buffer.from(text))[0] as SipRequest
}

/** REGISTER as OCS clients do it (MS-SIPAE): no credentials, NTLM with empty gssapi-data, AUTHENTICATE. */
function registerNtlm(
  conn: SipConnection,
  sas: SecurityAssociations,
  user: string,
  account: string,
  password: string,
) {
  const first = answer(request('REGISTER', user), conn, ctx(), sas)!
  const ask = answer(
    request('REGISTER', user, [
      `Authorization: NTLM qop="auth", realm="${REALM}", targetname="ocspool.contoso.test", gssapi-data="", version=3`,
    ]),
    conn,
    ctx(),
    sas,
  )!
  const challenge = parseAuthParams(ask.response.headers.get('www-authenticate')!).params
  const type3 = ntlm.createType3Message(
    ntlm.decodeType2Message(challenge['gssapi-data']!),
    account,
    password,
    'CX700',
    'CORP',
  )
  const final = answer(
    request('REGISTER', user, [
      `Authorization: NTLM qop="auth", realm="${REALM}", opaque="${challenge.opaque}", targetname="ocspool.contoso.test", gssapi-data="${type3.slice(5)}", version=3`,
    ]),
    conn,
    ctx(),
    sas,
  )!
  return { first, ask, final, opaque: challenge.opaque ?? '' }
}

describe('OCS registrar: REGISTER with MS-SIP NTLM', () => {
  it('offers NTLM and Kerberos, sends a CHALLENGE, and registers on the AUTHENTICATE (Expires 900)', () => {
    const conn: SipConnection = {}
    const { first, ask, final } = registerNtlm(
      conn,
      new SecurityAssociations(),
      'alice@contoso.test',
      'alice',
      'Passw0rd!',
    )
    expect(first.response.status).toBe(401)
    expect(first.response.headers.all('www-authenticate')).toEqual([
      `NTLM realm="${REALM}", targetname="ocspool.contoso.test", version=3`,
      `Kerberos realm="${REALM}", targetname="sip/ocspool.contoso.test", version=3`,
    ])
    expect(ask.response.status).toBe(401)
    expect(parseAuthParams(ask.response.headers.get('www-authenticate')!).params.opaque).toMatch(
      /^[0-9A-F]{8}$/,
    )
    expect(final.response.status).toBe(200)
    expect(final.summary).toContain('as CORP\\alice')
    expect(final.response.headers.get('expires')).toBe('900')
    expect(final.response.headers.get('contact')).toContain(';expires=900')
    expect(final.response.headers.get('allow-events')).toContain('vnd-microsoft-provisioning-v2')
    expect(parseAuthParams(final.response.headers.get('authentication-info')!).params.qop).toBe('auth')
    expect(conn.user?.signInAddress).toBe('alice@contoso.test')
  })

  it('accepts a re-REGISTER on the established security association, and not on someone else’s', () => {
    const sas = new SecurityAssociations()
    const { ask } = registerNtlm({}, sas, 'alice@contoso.test', 'alice', 'Passw0rd!')
    const opaque = parseAuthParams(ask.response.headers.get('www-authenticate')!).params.opaque!
    const signed = `Authorization: NTLM qop="auth", opaque="${opaque}", realm="${REALM}", targetname="ocspool.contoso.test", crand="1a2b", cnum="2", response="0100000000000000"`
    const again = answer(request('REGISTER', 'alice@contoso.test', [signed]), {}, ctx(), sas)!
    expect(again.response.status).toBe(200)
    expect(again.summary).toContain(`security association ${opaque}`)
    expect(answer(request('REGISTER', 'bob@contoso.test', [signed]), {}, ctx(), sas)!.response.status).toBe(
      401,
    )
  })

  it('answers 403 for a wrong password or another user’s account, 404 for an unknown user', () => {
    expect(
      registerNtlm({}, new SecurityAssociations(), 'alice@contoso.test', 'alice', 'wrong').final.response
        .status,
    ).toBe(403)
    expect(
      registerNtlm({}, new SecurityAssociations(), 'alice@contoso.test', 'bob', 'other').final.response
        .status,
    ).toBe(403)
    const unknown = answer(request('REGISTER', 'ghost@contoso.test'), {}, ctx(), new SecurityAssociations())!
    expect(unknown.response.status).toBe(404)
    expect(unknown.response.headers.get('ms-diagnostics')).toMatch(/^4005;/)
  })

  it('answers accounts that go wrong as OCS does: not SIP-enabled 404/4005, another user 4004, disabled 403', () => {
    const notEnabled = answer(
      request('REGISTER', 'carol@contoso.test'),
      {},
      ctx(),
      new SecurityAssociations(),
    )!
    expect(notEnabled.response.status).toBe(404)
    expect(notEnabled.summary).toContain('not enabled for Office Communications Server')
    const other = registerNtlm({}, new SecurityAssociations(), 'alice@contoso.test', 'bob', 'other').final
    expect(other.response.headers.get('ms-diagnostics-public')).toMatch(/^4004;/)
    expect(other.summary).toContain('is bob@contoso.test, not alice@contoso.test')
    const disabled = registerNtlm({}, new SecurityAssociations(), 'dave@contoso.test', 'dave', 'pw4').final
    expect(disabled.response.status).toBe(403)
    expect(disabled.summary).toContain('STATUS_ACCOUNT_DISABLED')
  })

  it('refuses a reused security association and a Kerberos token that is no ticket', () => {
    const sas = new SecurityAssociations()
    const conn: SipConnection = {}
    const { ask } = registerNtlm(conn, sas, 'alice@contoso.test', 'alice', 'Passw0rd!')
    const opaque = parseAuthParams(ask.response.headers.get('www-authenticate')!).params.opaque!
    const replay = answer(
      request('REGISTER', 'alice@contoso.test', [
        `Authorization: NTLM opaque="${opaque}", gssapi-data="TlRMTVNTUAADAAAA"`,
      ]),
      {},
      ctx(),
      sas,
    )!
    expect(replay.response.status).toBe(401)
    const kerberos = answer(
      request('REGISTER', 'alice@contoso.test', ['Authorization: Kerberos gssapi-data="YIIB"']),
      {},
      ctx({ krb5: { realm, replay: new ReplayCache() } }),
      sas,
    )!
    expect(kerberos.summary).toContain('Kerberos token that does not decode')
  })

  it('registers with a Kerberos ticket for sip/<pool> in one leg, then takes requests on that association', () => {
    const sas = new SecurityAssociations()
    const krb5 = { realm, replay: new ReplayCache() }
    const now = ctx().now.getTime()
    const gss = (spn: string, user?: string) =>
      Buffer.from(
        krb5Token(KrbTokId.apReq, apReqFor(realm, spn, { now, ...(user ? { user } : {}) })),
      ).toString('base64')
    const header = (data: string) =>
      `Authorization: Kerberos qop="auth", realm="${REALM}", targetname="sip/ocspool.contoso.test", gssapi-data="${data}", version=3`
    const ok = answer(
      request('REGISTER', 'alice@contoso.test', [header(gss('sip/ocspool.contoso.test'))]),
      {},
      ctx({ krb5 }),
      sas,
    )!
    expect(ok.response.status).toBe(200)
    expect(ok.summary).toContain('Kerberos as alice@CORP.CONTOSO.TEST')
    const opaque = parseAuthParams(ok.response.headers.get('authentication-info')!).params.opaque!
    const signed = `Authorization: Kerberos qop="auth", opaque="${opaque}", realm="${REALM}", targetname="sip/ocspool.contoso.test", crand="1a2b", cnum="2", response="00"`
    const again = answer(request('REGISTER', 'alice@contoso.test', [signed]), {}, ctx({ krb5 }), sas)!
    expect(again.response.status).toBe(200)
    expect(again.summary).toContain('signature not checked (Kerberos MIC)')
    // Another user's ticket for Alice's address, a ticket for another host, and no realm to check with.
    expect(
      answer(
        request('REGISTER', 'alice@contoso.test', [header(gss('sip/ocspool.contoso.test', 'bob'))]),
        {},
        ctx({ krb5 }),
        sas,
      )!.response.status,
    ).toBe(403)
    expect(
      answer(
        request('REGISTER', 'alice@contoso.test', [header(gss('HTTP/mail.contoso.test'))]),
        {},
        ctx({ krb5 }),
        sas,
      )!.summary,
    ).toContain('KRB_AP_ERR_MODIFIED')
    expect(
      answer(
        request('REGISTER', 'alice@contoso.test', [header(gss('sip/ocspool.contoso.test'))]),
        {},
        ctx(),
        sas,
      )!.response.status,
    ).toBe(401)
  })

  it('speaks RFC 2617 Digest when the scenario says so (for generic SIP tools)', () => {
    const sas = new SecurityAssociations()
    const c = ctx({ slice: slice({ authentication: 'digest' }) })
    const first = answer(request('REGISTER', 'alice@contoso.test'), {}, c, sas)!
    const { nonce } = parseAuthParams(first.response.headers.get('www-authenticate')!).params
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex')
    const ha1 = md5(`alice@contoso.test:${REALM}:Passw0rd!`)
    const ha2 = md5('REGISTER:sip:contoso.test')
    const response = md5(`${ha1}:${nonce}:00000001:abc:auth:${ha2}`)
    const ok = answer(
      request('REGISTER', 'alice@contoso.test', [
        `Authorization: Digest username="alice@contoso.test", realm="${REALM}", nonce="${nonce}", uri="sip:contoso.test", response="${response}", qop=auth, nc=00000001, cnonce="abc"`,
      ]),
      {},
      c,
      sas,
    )!
    expect(ok.response.status).toBe(200)
  })
})

describe('OCS in-band provisioning', () => {
  /** A connection that registered, its security associations, and a request header naming the one made. */
  const registered = (): { conn: SipConnection; sas: SecurityAssociations; onSa: string } => {
    const conn: SipConnection = {}
    const sas = new SecurityAssociations()
    const { opaque } = registerNtlm(conn, sas, 'alice@contoso.test', 'alice', 'Passw0rd!')
    const onSa = `Authorization: NTLM qop="auth", realm="${REALM}", opaque="${opaque}", targetname="ocspool.contoso.test", crand="1", cnum="1", response="00"`
    return { conn, sas, onSa }
  }
  const subscribe = (event: string, c: SipContext = ctx(), r = registered()) =>
    answer(
      request('SUBSCRIBE', 'alice@contoso.test', [`Event: ${event}`, 'Expires: 0', r.onSa]),
      r.conn,
      c,
      r.sas,
    )!
  const properties = (body: Buffer): Record<string, string> => {
    const out: Record<string, string> = {}
    for (const g of children(parseXml(body.toString()), 'provisionGroup'))
      for (const p of children(path(g, 'propertyEntryList'), 'property')) out[p.attrs.name!] = p.text
    return out
  }

  it('answers provisioning v2 with ServerConfiguration: DUS and ABS URLs, e-mail, policies', () => {
    const a = subscribe('vnd-microsoft-provisioning-v2')
    expect(a.response.status).toBe(200)
    expect(a.response.headers.get('content-type')).toBe(
      'application/vnd-microsoft-roaming-provisioning-v2+xml',
    )
    const p = properties(a.response.body)
    expect(p).toMatchObject({
      updatesServerInternalUrl: 'https://ocspool.contoso.test/RequestHandler/ucdevice.upx',
      updatesServerEnabled: 'true',
      absInternalServerUrl: 'https://ocspool.contoso.test/abs/int/handler',
      primaryEmailAddress: 'alice@contoso.test',
      ucPhoneTimeout: '10',
    })
    // UM enablement is the user's, in roaming-self's userProperties (S23): never in ServerConfiguration.
    expect(p.exumEnabled).toBeUndefined()
    const overridden = properties(
      subscribe(
        'vnd-microsoft-provisioning-v2',
        ctx({ slice: slice({ properties: { ucPhoneTimeout: '5', extra: 'x' } }) }),
      ).response.body,
    )
    expect(overridden).toMatchObject({ ucPhoneTimeout: '5', extra: 'x' })
  })

  it('answers the legacy package and the self categories (contactCard e-mail, exumEnabled)', () => {
    const v1 = subscribe('vnd-microsoft-provisioning')
    expect(
      path(parseXml(v1.response.body.toString()), 'serverConfiguration', 'updatesServerInternalUrl')?.text,
    ).toContain('/RequestHandler/ucdevice.upx')
    const self = parseXml(subscribe('vnd-microsoft-roaming-self').response.body.toString())
    const card = children(path(self, 'categories'), 'category')[0]
    expect(path(card, 'contactCard', 'identity', 'email')?.text).toBe('alice@contoso.test')
    expect(subscribe('vnd-microsoft-roaming-bogus').response.status).toBe(489)
  })

  it('follows the provisioning faults: empty, without DUS, without e-mail; blank DUS URLs', () => {
    expect(
      subscribe('vnd-microsoft-provisioning-v2', ctx({ provisioning: 'empty' })).response.body.toString(),
    ).not.toContain('provisionGroup ')
    const noDus = properties(
      subscribe('vnd-microsoft-provisioning-v2', ctx({ provisioning: 'no-dus' })).response.body,
    )
    expect(noDus).toMatchObject({ updatesServerInternalUrl: '', updatesServerEnabled: 'false' })
    const noEmail = properties(
      subscribe('vnd-microsoft-provisioning-v2', ctx({ provisioning: 'no-email' })).response.body,
    )
    expect(noEmail.primaryEmailAddress).toBeUndefined()
  })

  it('challenges a SUBSCRIBE on a connection that has not registered', () => {
    const a = answer(
      request('SUBSCRIBE', 'alice@contoso.test', ['Event: vnd-microsoft-provisioning-v2']),
      {},
      ctx(),
      new SecurityAssociations(),
    )!
    expect(a.response.status).toBe(401)
  })
})

describe('a connection’s security associations under a flood of unfinished handshakes', () => {
  it('keeps the newest 64 NTLM challenges and Digest nonces, the oldest forgotten', () => {
    const sas = new SecurityAssociations()
    const opaques = Array.from({ length: 5_000 }, () => sas.newNtlm().opaque)
    const nonces = Array.from({ length: 5_000 }, () => sas.newNonce())
    expect(sas.takeNtlm(opaques[0]!)).toBeUndefined()
    expect(sas.takeNtlm(opaques.at(-1)!)).toBeDefined()
    expect(sas.takeNtlm(opaques.at(-SecurityAssociations.MAX)!)).toBeDefined()
    expect(sas.knowsNonce(nonces[0]!)).toBe(false)
    expect(sas.knowsNonce(nonces.at(-1)!)).toBe(true)
  })
})
