import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import { parseXml, path, children } from '../../core/xml.js'
import { REALM, SecurityAssociations, answer, type SipConnection, type SipContext } from './behaviour.js'
import { SipFramer, parseAuthParams, type SipRequest } from './codec.js'
import { signature, verifySignature, type NtlmAssociation } from './signing.js'
import { authenticateWithKey, decodeNtlm } from '../../core/auth/ntlm.js'
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

/** A client's side of a security association: its keys and the opaque naming it. */
type ClientSa = { readonly sa: NtlmAssociation; readonly opaque: string }

/** Signs a request on the association (crand, cnum, response: MS-SIPAE), with `extra` auth params. */
function signOn(req: SipRequest, c: ClientSa, cnum: number, extra = ''): SipRequest {
  const response = signature(req, c.sa, 'client', '1a2b3c4d', String(cnum))
  req.headers.add(
    'Authorization',
    `NTLM qop="auth", opaque="${c.opaque}", realm="${REALM}", targetname="ocspool.contoso.test"${extra}, crand="1a2b3c4d", cnum="${cnum}", response="${response}"`,
  )
  return req
}

/**
 * REGISTER as Communicator 2007 R2 does it (MS-SIPAE version 4): no credentials, NTLM with empty
 * gssapi-data, then the AUTHENTICATE in a REGISTER signed with the keys it makes.
 */
function registerNtlm(
  conn: SipConnection,
  sas: SecurityAssociations,
  user: string,
  account: string,
  password: string,
  c: SipContext = ctx(),
) {
  const first = answer(request('REGISTER', user), conn, c, sas)!
  const ask = answer(
    request('REGISTER', user, [
      `Authorization: NTLM qop="auth", realm="${REALM}", targetname="ocspool.contoso.test", gssapi-data="", version=4`,
    ]),
    conn,
    c,
    sas,
  )!
  const params = parseAuthParams(ask.response.headers.get('www-authenticate')!).params
  const challenge = decodeNtlm(Buffer.from(params['gssapi-data']!, 'base64'))
  if (challenge.type !== 2) throw new Error('no CHALLENGE')
  const { message, keys } = authenticateWithKey({
    challenge,
    user: account,
    domain: 'CORP',
    password,
    workstation: 'CX700',
  })
  const client: ClientSa = {
    sa: { keys, version: 4, realm: REALM, targetname: 'ocspool.contoso.test' },
    opaque: params.opaque ?? '',
  }
  const gssapi = `, gssapi-data="${Buffer.from(message).toString('base64')}", version=4`
  const final = answer(signOn(request('REGISTER', user), client, 1, gssapi), conn, c, sas)!
  return { first, ask, final, opaque: client.opaque, client }
}

describe('OCS registrar: REGISTER with MS-SIP NTLM', () => {
  it('offers NTLM and Kerberos, sends a CHALLENGE, and registers on the AUTHENTICATE (Expires 900)', () => {
    const conn: SipConnection = {}
    const { first, ask, final, client } = registerNtlm(
      conn,
      new SecurityAssociations(),
      'alice@contoso.test',
      'alice',
      'Passw0rd!',
    )
    expect(first.response.status).toBe(401)
    expect(first.response.headers.all('www-authenticate')).toEqual([
      `NTLM realm="${REALM}", targetname="ocspool.contoso.test", version=4`,
      `Kerberos realm="${REALM}", targetname="sip/ocspool.contoso.test", version=4`,
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
    expect(final.summary).toContain('signature verified')
    // The 200 is signed with the server's keys, as OCS 2007 R2 signs it (rspauth, srand, snum 1).
    const info = parseAuthParams(final.response.headers.get('authentication-info')!).params
    expect(info).toMatchObject({ qop: 'auth', snum: '1', opaque: client.opaque })
    expect(
      verifySignature(final.response, client.sa, 'server', {
        rand: info.srand!,
        num: info.snum!,
        response: info.rspauth!,
      }),
    ).toBe(true)
    expect(conn.user?.signInAddress).toBe('alice@contoso.test')
  })

  it('challenges with 407 and Proxy-Authenticate when the scenario says so (the recorded R2 exchange)', () => {
    const c = ctx({ slice: slice({ challenge: '407' }) })
    const first = answer(request('REGISTER', 'alice@contoso.test'), {}, c, new SecurityAssociations())!
    expect(first.response.status).toBe(407)
    expect(first.response.reason).toBe('Proxy Authentication Required')
    expect(first.response.headers.all('proxy-authenticate')[0]).toContain('NTLM realm=')
    expect(first.response.headers.get('www-authenticate')).toBeUndefined()
  })

  it('refuses a version-4 AUTHENTICATE whose signature does not verify, or journals it when signatures is journal', () => {
    const forged = (c: SipContext) => {
      const sas = new SecurityAssociations()
      answer(request('REGISTER', 'alice@contoso.test'), {}, c, sas)
      const ask = answer(
        request('REGISTER', 'alice@contoso.test', [
          `Authorization: NTLM qop="auth", realm="${REALM}", targetname="ocspool.contoso.test", gssapi-data="", version=4`,
        ]),
        {},
        c,
        sas,
      )!
      const params = parseAuthParams(ask.response.headers.get('www-authenticate')!).params
      const challenge = decodeNtlm(Buffer.from(params['gssapi-data']!, 'base64'))
      if (challenge.type !== 2) throw new Error('no CHALLENGE')
      const { message } = authenticateWithKey({
        challenge,
        user: 'alice',
        domain: 'CORP',
        password: 'Passw0rd!',
        workstation: 'CX700',
      })
      const token = Buffer.from(message).toString('base64')
      const header = `Authorization: NTLM qop="auth", opaque="${params.opaque}", realm="${REALM}", targetname="ocspool.contoso.test", gssapi-data="${token}", version=4, crand="1a2b3c4d", cnum="1", response="01000000000000000000000064000000"`
      return answer(request('REGISTER', 'alice@contoso.test', [header]), {}, c, sas)!
    }
    const refused = forged(ctx())
    expect(refused.response.status).toBe(401)
    expect(refused.summary).toContain('the signed AUTHENTICATE: a signature that does not verify')
    const journaled = forged(ctx({ slice: slice({ signatures: 'journal' }) }))
    expect(journaled.response.status).toBe(200)
    expect(journaled.summary).toContain('a signature that does not verify (accepted: signatures is journal)')
  })

  it('accepts a re-REGISTER on the established security association, and not on someone else’s', () => {
    const sas = new SecurityAssociations()
    const { client } = registerNtlm({}, sas, 'alice@contoso.test', 'alice', 'Passw0rd!')
    const again = answer(signOn(request('REGISTER', 'alice@contoso.test'), client, 2), {}, ctx(), sas)!
    expect(again.response.status).toBe(200)
    expect(again.summary).toContain(`security association ${client.opaque}, signature verified`)
    expect(again.response.headers.get('authentication-info')).toContain('snum="2"')
    const theirs = signOn(request('REGISTER', 'alice@contoso.test'), client, 3).headers.get('authorization')!
    expect(
      answer(request('REGISTER', 'bob@contoso.test', [`Authorization: ${theirs}`]), {}, ctx(), sas)!.response
        .status,
    ).toBe(401)
    // A request whose signature was made for another message does not verify.
    expect(
      answer(request('REGISTER', 'alice@contoso.test', [`Authorization: ${theirs}`]), {}, ctx(), sas)!
        .response.status,
    ).toBe(401)
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
  const registered = (): { conn: SipConnection; sas: SecurityAssociations; client: ClientSa } => {
    const conn: SipConnection = {}
    const sas = new SecurityAssociations()
    const { client } = registerNtlm(conn, sas, 'alice@contoso.test', 'alice', 'Passw0rd!')
    return { conn, sas, client }
  }
  let cnum = 1
  const subscribe = (event: string, c: SipContext = ctx(), r = registered()) =>
    answer(
      signOn(request('SUBSCRIBE', 'alice@contoso.test', [`Event: ${event}`, 'Expires: 0']), r.client, ++cnum),
      r.conn,
      c,
      r.sas,
    )!
  const properties = (body: Buffer): Record<string, string> => {
    const out: Record<string, string> = {}
    for (const g of children(parseXml(body.toString()), 'provisionGroup'))
      if (g.attrs.name === 'ServerConfiguration') for (const c of g.children) out[c.name] = c.text
      else for (const p of children(path(g, 'propertyEntryList'), 'property')) out[p.attrs.name!] = p.text
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
      ucPhoneTimeOut: '10',
    })
    // UM enablement is the user's, in roaming-self's userProperties (S23): never in ServerConfiguration.
    expect(p.exumEnabled).toBeUndefined()
    const overridden = properties(
      subscribe(
        'vnd-microsoft-provisioning-v2',
        ctx({ slice: slice({ properties: { ucPhoneTimeOut: '5', extra: 'x' } }) }),
      ).response.body,
    )
    expect(overridden).toMatchObject({ ucPhoneTimeOut: '5', extra: 'x' })
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
