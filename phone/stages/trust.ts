import * as x509 from '@peculiar/x509'
import { STATUS, ended, next, type Outcome, type PhoneContext, type PhoneNetwork } from '../context.js'
import { ETYPE_NAMES } from '../../core/auth/krb5/crypto.js'
import { KrbTokId, NegState, readGssToken, readKrb5Token } from '../../core/auth/spnego.js'
import type { LdapFilter } from '../../servers/ldap/codec.js'
import { PhoneLdap, type PhoneLdapEntry } from '../ldap.js'
import { accountPart } from '../../core/site.js'
import { PhoneHttp } from '../http.js'
import { PHONE_ETYPES, asExchange, mutualNegotiation, negotiateToken, tgsExchange } from '../kerberos.js'
import type { HttpAnswer } from '../http.js'
import { withKerberos } from '../http-auth.js'
import type { DomainController } from './dc-locator.js'

type LdapStep =
  { readonly enrollmentHost: string | undefined } | { readonly end: 'kerberos-skew' | 'sign-in-refused' }

/** The realm a domain's naming context names: DC=corp,DC=contoso,DC=test → CORP.CONTOSO.TEST. */
export function realmOf(namingContext: string): string {
  return namingContext
    .split(',')
    .map((rdn) => rdn.trim().replace(/^dc=/i, ''))
    .join('.')
    .toUpperCase()
}

/** What the KDC's refusals mean for the phone: a clock it cannot fix, or a logon it cannot make. */
const KERBEROS_ENDS: Readonly<Record<string, 'kerberos-skew' | 'sign-in-refused'>> = {
  KRB_AP_ERR_SKEW: 'kerberos-skew',
  KDC_ERR_PREAUTH_FAILED: 'sign-in-refused',
  KDC_ERR_C_PRINCIPAL_UNKNOWN: 'sign-in-refused',
  KDC_ERR_CLIENT_REVOKED: 'sign-in-refused',
  KDC_ERR_KEY_EXPIRED: 'sign-in-refused',
}

/**
 * The user's TGT from the DC's KDC (spec §2.5, §10.11), with the phone's own clock in PA-ENC-TIMESTAMP: a
 * clock off by more than the domain allows is refused by the KDC (KRB_AP_ERR_SKEW, F5/F6), a wrong password
 * or an account that went wrong likewise (F15). A KDC that does not answer leaves the phone on NTLM.
 */
/**
 * The KDC as a Windows client finds it (spec §10.13, GUESS 13): the domain's `_kerberos._tcp.dc._msdcs` SRV
 * record, its target's address; the DC the locator found when there is none.
 */
async function locateKdc(network: PhoneNetwork, realm: string, dc: DomainController): Promise<string> {
  const [target] = await network.dns.srv(`_kerberos._tcp.dc._msdcs.${realm.toLowerCase()}`)
  return (target && (await network.dns.address(target.target))) ?? dc.address
}

async function kerberosLogon(
  ctx: PhoneContext,
  network: PhoneNetwork,
  dc: DomainController,
  realm: string,
): Promise<{ readonly end: 'kerberos-skew' | 'sign-in-refused' } | undefined> {
  if (ctx.guesses.kerberos === 'off' || realm === '') return undefined
  const { account, password } = ctx.options
  const user = accountPart(account)
  const kdc = await locateKdc(network, realm, dc)
  const r = await asExchange({
    net: ctx.net,
    kdc,
    realm,
    user,
    password,
    etypes: PHONE_ETYPES[ctx.guesses.kerberos],
    now: () => ctx.now().getTime(),
    timeoutMs: ctx.timeoutMs,
  })
  if (r.ok) {
    ctx.kerberos = { tgt: r.value, kdc }
    ctx.step('kerberos', true, `TGT for ${user}@${realm} (${ETYPE_NAMES[r.value.session.etype]})`)
    return undefined
  }
  const end = KERBEROS_ENDS[r.error]
  ctx.step('kerberos', false, `AS exchange for ${user}@${realm}: ${r.error}${end ? '' : ' — NTLM from here'}`)
  return end ? { end } : undefined
}

const equality = (attribute: string, value: string): LdapFilter => ({
  type: 'equality',
  attribute,
  value: Buffer.from(value, 'utf8'),
})
const text = (e: PhoneLdapEntry | undefined, attribute: string): string =>
  e?.attributes.get(attribute.toLowerCase())?.[0]?.toString('utf8') ?? ''

/**
 * The user's bind with the TGT (spec §10.11, GUESS 11: SASL GSS-SPNEGO with Kerberos as the user): a ticket
 * for `ldap/<DC>`, the AP-REQ in SPNEGO, accepted when the DC answers success with SPNEGO's accept-completed
 * and a Kerberos AP-REP. `no-ticket` when the phone has no TGT or gets no ticket (then a simple bind, as
 * without Kerberos); a DC that refuses the bind or answers it wrongly ends it, as it would end Windows' bind.
 */
async function spnegoBind(
  ctx: PhoneContext,
  ldap: PhoneLdap,
  dc: DomainController,
): Promise<'bound' | 'no-ticket' | LdapStep> {
  const k = ctx.kerberos
  if (!k || ctx.guesses.ldapBind !== 'spnego') return 'no-ticket'
  const spn = `ldap/${dc.name.toLowerCase()}`
  const now = (): number => ctx.now().getTime()
  const etypes = PHONE_ETYPES[ctx.guesses.kerberos === 'off' ? 'rc4-hmac' : ctx.guesses.kerberos]
  const service = await tgsExchange(ctx.net, k.kdc, k.tgt, spn, etypes, now, ctx.timeoutMs)
  if (!service.ok) {
    ctx.step('kerberos', false, `TGS exchange for ${spn}: ${service.error} — a simple bind instead`)
    return 'no-ticket'
  }
  const spnego = mutualNegotiation(service.value, now())
  const a = await ldap.bind({ mechanism: 'GSS-SPNEGO', credentials: spnego.token })
  const completed =
    a.code === 0 && a.serverSaslCreds !== undefined && accepted(a.serverSaslCreds, spnego.verify)
  const how = `${ctx.options.account} (GSS-SPNEGO, Kerberos ticket for ${spn})`
  if (completed) {
    ctx.step('ldap-bind', true, `bound as ${how}`)
    return 'bound'
  }
  const why =
    a.code === 0
      ? 'success without SPNEGO accept-completed and an AP-REP sealed in the ticket’s key'
      : `${a.code} ${a.message}`
  ctx.step('ldap-bind', false, `${how}: ${why}`)
  // invalidCredentials: the DC refused the logon; anything else leaves the phone without its directory.
  if (a.code === 49) return { end: 'sign-in-refused' }
  throw new Error(`the DC answered the bind as ${how}: ${why}`)
}

/** The DC's last SPNEGO token: accept-completed, with the AP-REP that proves it holds the ticket's key. */
function accepted(creds: Uint8Array, verify: (apRep: Uint8Array) => boolean): boolean {
  try {
    const t = readGssToken(creds)
    if (t.kind !== 'resp' || t.state !== NegState.acceptCompleted || !t.mechToken) return false
    const inner = readKrb5Token(t.mechToken)
    return inner.tokId === KrbTokId.apRep && verify(inner.message)
  } catch {
    return false
  }
}

/** The bind as the user: with the TGT where the guess says so and a ticket can be had, else simple. */
async function bindAsUser(
  ctx: PhoneContext,
  ldap: PhoneLdap,
  dc: DomainController,
): Promise<LdapStep | undefined> {
  const withTicket = await spnegoBind(ctx, ldap, dc)
  if (withTicket === 'bound') return undefined
  if (withTicket !== 'no-ticket') return withTicket
  const a = await ldap.bind({ name: ctx.options.account, password: ctx.options.password })
  if (a.code === 49) {
    // invalidCredentials: the DC refused the logon (AD's `data` code says why: 52e, 533, 532…). The phone's
    // words for it are unknown (spec F15), so it shows no new status line; it cannot sign in.
    ctx.step('ldap-bind', false, `${ctx.options.account}: ${a.message}`)
    return { end: 'sign-in-refused' }
  }
  if (a.code !== 0) throw new Error(`bind as ${ctx.options.account}: result ${a.code} ${a.message}`)
  ctx.step('ldap-bind', true, `bound as ${ctx.options.account}`)
  return undefined
}

/**
 * The directory part of §2.5: RootDSE (the configuration and domain naming contexts), the user's Kerberos
 * logon at the DC's KDC, a bind as the user, then certificationAuthority objects, else the
 * pKIEnrollmentService's dNSHostName.
 */
async function fromDirectory(
  ctx: PhoneContext,
  network: PhoneNetwork,
  ldap: PhoneLdap,
  dc: DomainController,
): Promise<LdapStep> {
  const [dse] = await ldap.search({
    base: '',
    scope: 'base',
    filter: { type: 'present', attribute: 'objectclass' },
    attributes: ['configurationNamingContext', 'defaultNamingContext'],
  })
  const configNc = text(dse, 'configurationNamingContext')
  const refused = await kerberosLogon(ctx, network, dc, realmOf(text(dse, 'defaultNamingContext')))
  if (refused) return refused
  const bound = await bindAsUser(ctx, ldap, dc)
  if (bound) return bound
  if (ctx.state.roots().length > 0) return { enrollmentHost: undefined }
  ctx.show(STATUS.downloading)
  return fromCaObjects(ctx, ldap, configNc)
}

/** Search #1, then #2 only when #1 gave no certificate (spec §2.5). */
async function fromCaObjects(ctx: PhoneContext, ldap: PhoneLdap, configNc: string): Promise<LdapStep> {
  const cas = await ldap.search({
    base: configNc,
    scope: 'sub',
    filter: equality('objectCategory', 'certificationAuthority'),
    attributes: ['cACertificate'],
  })
  const found: x509.X509Certificate[] = []
  for (const e of cas)
    for (const v of e.attributes.get('cacertificate') ?? [])
      if (v.length > 0) found.push(new x509.X509Certificate(new Uint8Array(v)))
  ctx.step('ldap-ca', found.length > 0, `${cas.length} CA object(s), ${found.length} certificate(s)`)
  if (found.length > 0) {
    ctx.state.addRoots(found)
    return { enrollmentHost: undefined }
  }
  const svc = await ldap.search({
    base: configNc,
    scope: 'sub',
    filter: equality('objectCategory', 'pKIEnrollmentService'),
    attributes: ['dNSHostName'],
  })
  const enrollmentHost = svc.map((e) => text(e, 'dNSHostName')).find(Boolean)
  ctx.step(
    'ldap-enrollment',
    enrollmentHost !== undefined,
    enrollmentHost ?? 'no pKIEnrollmentService object',
  )
  return { enrollmentHost }
}

function certificatesFromPkcs7(body: Buffer): x509.X509Certificate[] {
  const text = body.toString('latin1')
  const der = body[0] === 0x30 ? body : Buffer.from(text.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64')
  const certs = new x509.X509Certificates()
  certs.import(new Uint8Array(der))
  return [...certs]
}

/**
 * /certsrv with Kerberos, as the guide's trace shows it (§2.5, F9): a ticket for HTTP/<CA host>, the first
 * attempt refused, the retry — a fresh authenticator with a new subkey — accepted. Undefined when the phone
 * has no TGT or gets no service ticket (then NTLM).
 */
async function withTicket(
  ctx: PhoneContext,
  conn: PhoneHttp,
  path: string,
  host: string,
): Promise<HttpAnswer | undefined> {
  const k = ctx.kerberos
  if (!k) return undefined
  const spn = `HTTP/${host.toLowerCase()}`
  const now = (): number => ctx.now().getTime()
  const etypes = PHONE_ETYPES[ctx.guesses.kerberos === 'off' ? 'rc4-hmac' : ctx.guesses.kerberos]
  const service = await tgsExchange(ctx.net, k.kdc, k.tgt, spn, etypes, now, ctx.timeoutMs)
  if (!service.ok) {
    ctx.step('kerberos', false, `TGS exchange for ${spn}: ${service.error} — NTLM instead`)
    return undefined
  }
  const { answer, attempts } = await withKerberos(
    conn,
    'GET',
    path,
    host,
    () => negotiateToken(service.value, now()),
    ctx.timeoutMs,
  )
  ctx.step(
    'certsrv-kerberos',
    answer?.status === 200,
    `${spn}: ${attempts} attempt(s) → ${answer?.status ?? 'no answer'}`,
  )
  return answer?.status === 200 ? answer : undefined
}

/** §2.5 step 4: the chain from AD CS web enrollment, as the user; its self-issued root is installed. */
async function fromCertsrv(ctx: PhoneContext, network: PhoneNetwork, host: string): Promise<void> {
  const address = await network.dns.address(host)
  const to = address ? ctx.net.target(address, 80, 'tcp') : undefined
  const conn = to
    ? await PhoneHttp.open(to.host, to.port, ctx.timeoutMs, ctx.net.localAddress)
    : `${host} does not resolve`
  if (typeof conn === 'string') {
    ctx.step('certsrv', false, conn)
    return
  }
  const path = '/certsrv/certnew.p7b?ReqID=CACert&Renewal=-1&Enc=b64'
  const a = (await withTicket(ctx, conn, path, host)) ?? (await ctx.authenticated(conn, 'GET', path, host))
  conn.close()
  let certs: x509.X509Certificate[] = []
  try {
    if (a?.status === 200) certs = certificatesFromPkcs7(a.body)
  } catch {
    certs = []
  }
  ctx.step(
    'certsrv',
    certs.length > 0,
    `GET certnew.p7b → ${a?.status ?? 'no answer'}${certs.length ? `, ${certs.length} certificate(s)` : ''}`,
  )
  const roots = certs.filter((c) => c.subject === c.issuer)
  if (roots.length > 0) ctx.state.addRoots(roots)
}

/**
 * §2.5 "Downloading Certificate" / "Installing Certificate": roots from AD's CA objects, else from the
 * enrollment service's /certsrv. A phone that already holds roots only binds. No root: "Cannot validate
 * server certificate".
 */
export async function trustStage(
  ctx: PhoneContext,
  network: PhoneNetwork,
  dc: DomainController,
): Promise<Outcome<readonly x509.X509Certificate[]>> {
  let found: LdapStep
  let ldap: PhoneLdap | undefined
  try {
    ldap = await PhoneLdap.open(ctx.net, dc.host, dc.port, ctx.timeoutMs)
    found = await fromDirectory(ctx, network, ldap, dc)
  } catch (err) {
    ctx.step('ldap', false, (err as Error).message)
    return ended('dc-not-found')
  } finally {
    ldap?.close()
  }
  if ('end' in found) return ended(found.end)
  if (ctx.state.roots().length === 0 && found.enrollmentHost)
    await fromCertsrv(ctx, network, found.enrollmentHost)
  const roots = ctx.state.roots()
  if (roots.length === 0) {
    ctx.show(STATUS.cannotValidate)
    return ended('cannot-validate-certificate')
  }
  ctx.show(STATUS.installing)
  ctx.learnt.roots = roots.map((r) => r.subject)
  return next(roots)
}
