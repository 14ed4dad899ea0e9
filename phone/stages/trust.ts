import * as x509 from '@peculiar/x509'
import { Client, InvalidCredentialsError } from 'ldapts'
import { STATUS, ended, next, type Outcome, type PhoneContext, type PhoneNetwork } from '../context.js'
import { PhoneHttp } from '../http.js'
import type { DomainController } from './dc-locator.js'

/** The DC's clock from RootDSE currentTime (a GeneralizedTime), in ms; undefined when absent. */
function dcTimeMs(currentTime: string): number | undefined {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)/.exec(currentTime)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number)
  return Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second)
}

type LdapStep =
  { readonly enrollmentHost: string | undefined } | { readonly end: 'kerberos-skew' | 'sign-in-refused' }

/**
 * The directory part of §2.5: RootDSE (the configuration NC, and the DC's clock for Kerberos' tolerance),
 * a bind as the user, then certificationAuthority objects, else the pKIEnrollmentService's dNSHostName.
 */
async function fromDirectory(ctx: PhoneContext, ldap: Client): Promise<LdapStep> {
  const dse = await ldap.search('', {
    scope: 'base',
    attributes: ['configurationNamingContext', 'currentTime'],
  })
  const configNc = String(dse.searchEntries[0]?.configurationNamingContext ?? '')
  const dcMs = dcTimeMs(String(dse.searchEntries[0]?.currentTime ?? ''))
  if (dcMs !== undefined) {
    const skew = ctx.now().getTime() - dcMs
    ctx.learnt.dcSkewMs = skew
    if (Math.abs(skew) > ctx.guesses.maxSkewMs) {
      ctx.step(
        'kerberos',
        false,
        `the phone's clock is ${Math.round(skew / 1000)} s off the DC's: Kerberos refuses (skew > ${ctx.guesses.maxSkewMs / 60_000} min)`,
      )
      return { end: 'kerberos-skew' }
    }
  }
  try {
    await ldap.bind(ctx.options.account, ctx.options.password)
  } catch (err) {
    // invalidCredentials (49): the DC refused the logon (AD's `data` code says why: 52e, 533, 532…). The
    // phone's words for it are unknown (spec F15), so it shows no new status line; it cannot sign in.
    if (!(err instanceof InvalidCredentialsError)) throw err
    ctx.step('ldap-bind', false, `${ctx.options.account}: ${err.message}`)
    return { end: 'sign-in-refused' }
  }
  ctx.step('ldap-bind', true, `bound as ${ctx.options.account}`)
  if (ctx.state.roots().length > 0) return { enrollmentHost: undefined }
  ctx.show(STATUS.downloading)
  const cas = await ldap.search(configNc, {
    filter: '(objectCategory=certificationAuthority)',
    attributes: ['cACertificate'],
    explicitBufferAttributes: ['cACertificate'],
  })
  const found: x509.X509Certificate[] = []
  for (const e of cas.searchEntries) {
    const values = e.cACertificate
    for (const v of Array.isArray(values) ? values : [values])
      if (Buffer.isBuffer(v) && v.length > 0) found.push(new x509.X509Certificate(v))
  }
  ctx.step(
    'ldap-ca',
    found.length > 0,
    `${cas.searchEntries.length} CA object(s), ${found.length} certificate(s)`,
  )
  if (found.length > 0) {
    ctx.state.addRoots(found)
    return { enrollmentHost: undefined }
  }
  const svc = await ldap.search(configNc, {
    filter: '(objectCategory=pKIEnrollmentService)',
    attributes: ['dNSHostName'],
  })
  const enrollmentHost = svc.searchEntries.map((e) => String(e.dNSHostName ?? '')).find(Boolean)
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

/** §2.5 step 4: the chain from AD CS web enrollment, as the user; its self-issued root is installed. */
async function fromCertsrv(ctx: PhoneContext, network: PhoneNetwork, host: string): Promise<void> {
  const address = await network.dns.address(host)
  const to = address ? ctx.net.target(address, 80, 'tcp') : undefined
  const conn = to ? await PhoneHttp.open(to.host, to.port, ctx.timeoutMs) : `${host} does not resolve`
  if (typeof conn === 'string') {
    ctx.step('certsrv', false, conn)
    return
  }
  const a = await ctx.authenticated(conn, 'GET', '/certsrv/certnew.p7b?ReqID=CACert&Renewal=-1&Enc=b64', host)
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
  const ldap = new Client({
    url: `ldap://${dc.host}:${dc.port}`,
    timeout: ctx.timeoutMs,
    connectTimeout: ctx.timeoutMs,
  })
  let found: LdapStep
  try {
    found = await fromDirectory(ctx, ldap)
  } catch (err) {
    ctx.step('ldap', false, (err as Error).message)
    return ended('dc-not-found')
  } finally {
    await ldap.unbind().catch(() => undefined)
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
