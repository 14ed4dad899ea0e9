import 'reflect-metadata'
import { performance } from 'node:perf_hooks'
import * as x509 from '@peculiar/x509'
import { Client } from 'ldapts'
import { decodeNtlm, encodeAuthenticate, encodeNegotiate } from '../core/auth/ntlm.js'
import { LabDecodeError } from '../core/errors.js'
import { children, parseXml, path } from '../core/xml.js'
import { dhcpLease, type Lease } from './dhcp.js'
import { PhoneResolver } from './dns.js'
import { PhoneHttp, type HttpAnswer } from './http.js'
import type { PhoneNet } from './net.js'
import { ntpOffset } from './ntp.js'
import { MISSED_CALLS, findItemRequest, foundItems, outlookRequest } from './requests.js'
import { PhoneSip } from './sip.js'
import { phoneTls, type TrustFailure } from './trust.js'
import type { PhoneState } from './state.js'

/**
 * The emulated CX700 (spec §1, §9): boots, signs in and syncs the way the phone does, through the network
 * only — DHCP, DNS with the suffix rule, NTP, the DC locator, the LDAP trust bootstrap and /certsrv, the SIP
 * target walk, TLS checked as Windows CE checks it, REGISTER with NTLM, provisioning, the Device Update
 * Service, Autodiscover and EWS. It shows the phone's status lines and ends in one named state.
 */

export type EndState =
  | 'no-address'
  | 'clock-not-set'
  | 'dc-not-found'
  | 'kerberos-skew'
  | 'cannot-validate-certificate'
  | 'certificate-loop'
  | 'pool-not-found'
  | 'tls-failed'
  | 'tls-untrusted'
  | 'sign-in-refused'
  | 'signed-in'
  | 'signed-in-not-updated'
  | 'signed-in-without-exchange'

/** The spec's GUESSes, each an option whose default is the spec's best guess (§10). */
export interface PhoneGuesses {
  /** How option 119 is read (§2.1, §10.16): the guide's `;` string. */
  readonly option119: 'ascii' | 'rfc3397' | 'both'
  /**
   * Whether the TLS ClientHello names the server (CE-era clients probably do not). Unset: no SNI on a real
   * segment, SNI in loopback mode — where every lab host shares 127.0.0.1, the name stands in for the
   * distinct addresses of a real site (the lab picks certificates by address first).
   */
  readonly sni: boolean | undefined
  /** Which provisioning package is subscribed to (§10.10): v2 on 3.5.x. */
  readonly provisioning: 'v2' | 'v1'
  /** The Autodiscover URLs tried, in order (§3.1, §10.2). */
  readonly autodiscover: readonly ('https-smtp' | 'https-autodiscover' | 'http-redirect')[]
  /** Which element carries the EWS URL (§10.4): EwsUrl if present, else ASUrl. */
  readonly ewsUrl: readonly ('EwsUrl' | 'ASUrl')[]
  /** The Kerberos tolerance the DC enforces (§2.3: 5 minutes). */
  readonly maxSkewMs: number
  /** The newest TLS the phone speaks: Windows CE 6 has TLS 1.0 only. */
  readonly tlsVersion: 'TLSv1' | 'TLSv1.2'
}
export const DEFAULT_GUESSES: PhoneGuesses = {
  option119: 'ascii',
  sni: undefined,
  provisioning: 'v2',
  autodiscover: ['https-smtp', 'https-autodiscover', 'http-redirect'],
  ewsUrl: ['EwsUrl', 'ASUrl'],
  maxSkewMs: 5 * 60_000,
  tlsVersion: 'TLSv1',
}

/** The newest CX700 build (spec §6.4): a phone below it after sign-in was not updated. */
export const LATEST_FIRMWARE = '3.5.6907.35'

export interface PhoneOptions {
  readonly net: PhoneNet
  readonly mac: string
  /** What the user types: sign-in address, user name (DOMAIN\user or user@domain), password. */
  readonly signIn: string
  readonly account: string
  readonly password: string
  readonly state: PhoneState
  readonly guesses?: Partial<PhoneGuesses>
  /** Per network exchange. */
  readonly timeoutMs?: number
  /** On a real link: makes broadcast possible before the lease, and puts the leased address on the link. */
  readonly link?: {
    readonly prepare: () => Promise<void>
    readonly configure: (lease: Lease) => Promise<void>
  }
}

export interface PhoneStep {
  readonly step: string
  readonly ok: boolean
  readonly detail: string
  readonly ms: number
}

export interface PhoneReport {
  readonly mac: string
  readonly endState: EndState
  /** The status lines the phone showed, in order. */
  readonly status: readonly string[]
  readonly steps: readonly PhoneStep[]
  /** What the phone learnt: address, clock offset, DC, roots, pool, e-mail, EWS URL, mailbox counts. */
  readonly learnt: Record<string, unknown>
  readonly ms: number
}

const STATUS = {
  locating: 'Locating Domain Controller',
  downloading: 'Downloading Certificate',
  installing: 'Installing Certificate',
  connecting: 'Connecting to Office Communications Server',
  cannotValidate: 'Cannot validate server certificate',
} as const

class Run {
  readonly steps: PhoneStep[] = []
  readonly status: string[] = []
  readonly learnt: Record<string, unknown> = {}
  #t = performance.now()
  step(step: string, ok: boolean, detail: string): boolean {
    const now = performance.now()
    this.steps.push({ step, ok, detail, ms: Math.round((now - this.#t) * 10) / 10 })
    this.#t = now
    return ok
  }
  show(line: string): void {
    if (this.status.at(-1) !== line) this.status.push(line)
  }
}

const isNewer = (a: string, b: string): boolean => {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++)
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0)
  return false
}

/** An HTTP exchange with NTLM (in the `NTLM` or `Negotiate` scheme) on one connection. */
async function withNtlm(
  conn: PhoneHttp,
  method: string,
  path: string,
  host: string,
  account: string,
  password: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<HttpAnswer | undefined> {
  const first = await conn.request(method, path, host, headers, body, timeoutMs)
  if (first?.status !== 401) return first
  const offered = (first.headers.get('www-authenticate') ?? []).flatMap((v) => v.split(/,\s*/))
  const scheme = offered.some((v) => /^NTLM$/i.test(v.trim())) ? 'NTLM' : 'Negotiate'
  const type1 = Buffer.from(encodeNegotiate()).toString('base64')
  const second = await conn.request(
    method,
    path,
    host,
    { ...headers, Authorization: `${scheme} ${type1}` },
    body,
    timeoutMs,
  )
  const token = (second?.headers.get('www-authenticate') ?? [])
    .map((v) => v.split(' '))
    .find((p) => p[0]?.toLowerCase() === scheme.toLowerCase() && p[1])?.[1]
  if (!second || second.status !== 401 || !token) return second
  let challenge
  try {
    challenge = decodeNtlm(Buffer.from(token, 'base64'))
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return second
  }
  if (challenge.type !== 2) return second
  const [domain = '', user = account] = account.includes('\\') ? account.split('\\') : ['', account]
  const type3 = Buffer.from(
    encodeAuthenticate({ challenge, user, domain, password, workstation: 'CX700' }),
  ).toString('base64')
  return conn.request(
    method,
    path,
    host,
    { ...headers, Authorization: `${scheme} ${type3}` },
    body,
    timeoutMs,
  )
}

function certificatesFromPkcs7(body: Buffer): x509.X509Certificate[] {
  const text = body.toString('latin1')
  const der = body[0] === 0x30 ? body : Buffer.from(text.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64')
  const certs = new x509.X509Certificates()
  certs.import(new Uint8Array(der))
  return [...certs]
}

/** Boots the phone and signs in; never throws for what the lab answers. */
export async function runPhone(o: PhoneOptions): Promise<PhoneReport> {
  const g: PhoneGuesses = { ...DEFAULT_GUESSES, ...o.guesses }
  const sni = g.sni ?? o.net.loopback
  const timeoutMs = o.timeoutMs ?? 2_000
  const run = new Run()
  const t0 = performance.now()
  const end = (endState: EndState): PhoneReport => ({
    mac: o.mac,
    endState,
    status: run.status,
    steps: run.steps,
    learnt: run.learnt,
    ms: Math.round(performance.now() - t0),
  })
  const state = o.state

  // §2.1 DHCP
  await o.link?.prepare()
  const lease: Lease | undefined = await dhcpLease(o.net, o.mac, {
    accept119: g.option119,
    timeoutMs,
    attempts: 2,
  })
  if (
    !run.step(
      'dhcp',
      lease !== undefined,
      lease
        ? `${lease.address}, option 15 "${lease.domain}", 119 [${lease.searchList.join(', ')}]`
        : 'no offer',
    )
  )
    return end('no-address')
  run.learnt.address = lease!.address
  await o.link?.configure(lease!)
  const suffixes = [lease!.domain, ...lease!.searchList].filter(Boolean)
  const dnsServer = lease!.dns[0]
  if (!dnsServer) {
    run.step('dns', false, 'the lease names no DNS server')
    return end('dc-not-found')
  }
  const dns = new PhoneResolver(o.net, dnsServer, suffixes, timeoutMs)
  const sipDomain = o.signIn.split('@')[1]!.toLowerCase()

  // §6.1 a never-signed-in 1.0.522.101 / 3.5.6907.35 looks for the DUS by ucupdates-r2.<option 15>
  const updateCheck = async (url: string, label: string): Promise<void> => {
    const u = new URL(url)
    const address = /^\d+\.\d+\.\d+\.\d+$/.test(u.hostname) ? u.hostname : await dns.address(u.hostname)
    const to = address
      ? o.net.target(address, Number(u.port || (u.protocol === 'https:' ? 443 : 80)), 'tcp')
      : undefined
    if (!to) {
      run.step(label, false, `${u.hostname} does not resolve or answer`)
      return
    }
    let conn: PhoneHttp | string
    if (u.protocol === 'https:') {
      const tls = await phoneTls(
        to.host,
        to.port,
        u.hostname,
        state.roots(),
        new Date(Date.now() + state.clockOffsetMs),
        { sni, timeoutMs, maxVersion: g.tlsVersion },
      )
      conn = 'socket' in tls ? new PhoneHttp(tls.socket) : `${tls.failure}: ${tls.reason}`
    } else conn = await PhoneHttp.open(to.host, to.port, timeoutMs)
    if (typeof conn === 'string') {
      run.step(label, false, conn)
      return
    }
    try {
      const body =
        `<?xml version="1.0" encoding="utf-8"?><Request><DeviceType>UCPhone</DeviceType><MacAddress>${o.mac}</MacAddress>` +
        `<SerialNumber>${o.mac.replace(/:/g, '').toUpperCase()}</SerialNumber><Vendor>Polycom</Vendor><Model>CX700</Model>` +
        `<Revision>A</Revision><Locale>ENU</Locale><Modules><Module><Filename>CPE.nbt</Filename><Version>${state.firmware}</Version>` +
        `<Timestamp>2009-01-01T00:00:00Z</Timestamp></Module></Modules>${state.user ? `<UserId>${state.user}</UserId>` : ''}</Request>`
      const a = await conn.request(
        'POST',
        u.pathname,
        u.host,
        { 'Content-Type': 'text/xml' },
        body,
        timeoutMs,
      )
      if (a?.status !== 200) {
        run.step(label, false, `ucdevice.upx answered ${a?.status ?? 'nothing'}`)
        return
      }
      const doc = parseXml(a.body.toString())
      const version = path(doc, 'Modules', 'Module', 'Version')?.text ?? ''
      const base = path(doc, 'BaseURL')?.text ?? ''
      if (!isNewer(version, state.firmware)) {
        run.step(label, true, `current (${state.firmware}; offered ${version || 'nothing'})`)
        return
      }
      if (base === '') {
        run.step(label, false, `${version} offered with a blank BaseURL`)
        return
      }
      const file = new URL(`${base}/CPE.nbt`)
      const fileAddress = await dns.address(file.hostname)
      const fileTo = fileAddress ? o.net.target(fileAddress, Number(file.port || 80), 'tcp') : undefined
      const download = fileTo ? await PhoneHttp.open(fileTo.host, fileTo.port, timeoutMs) : 'does not resolve'
      if (typeof download === 'string') {
        run.step(label, false, `${file.hostname}: ${download}`)
        return
      }
      const image = await download.request('GET', file.pathname, file.host, {}, '', timeoutMs)
      download.close()
      if (image?.status !== 200 || image.body.length === 0) {
        run.step(label, false, `GET CPE.nbt answered ${image?.status ?? 'nothing'}`)
        return
      }
      run.step(label, true, `updated ${state.firmware} → ${version} (${image.body.length} octets)`)
      state.firmware = version
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      run.step(label, false, `ucdevice.upx answer is not XML: ${err.message}`)
    } finally {
      conn.close()
    }
  }
  if (!state.everSignedIn && ['1.0.522.101', '3.5.6907.35'].includes(state.firmware)) {
    const dus = await dns.address(`ucupdates-r2.${lease!.domain}`)
    if (dus) await updateCheck(`http://${dus}/RequestHandler/ucdevice.upx`, 'update (ucupdates-r2)')
    else
      run.step(
        'update (ucupdates-r2)',
        true,
        `ucupdates-r2.${lease!.domain} does not resolve: no update check`,
      )
  }

  // §2.3 time: _ntp._udp.<SIP domain>, else time.windows.com
  const srv = await dns.srv(`_ntp._udp.${sipDomain}`)
  const ntpHost = srv[0]?.target ?? 'time.windows.com'
  const ntpAddress = await dns.address(ntpHost)
  const time = ntpAddress
    ? await ntpOffset(o.net, ntpAddress, timeoutMs)
    : { problem: `${ntpHost} does not resolve` }
  if (
    !run.step(
      'ntp',
      'offsetMs' in time,
      'offsetMs' in time ? `${ntpHost}: clock set, offset ${Math.round(time.offsetMs)} ms` : time.problem,
    )
  )
    return end('clock-not-set')
  state.clockOffsetMs = 'offsetMs' in time ? time.offsetMs : 0
  const phoneNow = (): Date => new Date(Date.now() + state.clockOffsetMs)
  run.learnt.clockOffsetMs = Math.round(state.clockOffsetMs)

  // §2.4 domain controller
  run.show(STATUS.locating)
  const [netbios, upnDomain] = o.account.includes('\\')
    ? [o.account.split('\\')[0]!, undefined]
    : [undefined, o.account.split('@')[1]]
  let dc: { target: string; port: number } | undefined
  if (upnDomain) dc = (await dns.srv(`_ldap._tcp.dc._msdcs.${upnDomain}`))[0]
  else
    for (const suffix of ['', lease!.domain, ...lease!.searchList]) {
      const candidates = await dns.query(
        `_ldap._tcp.dc._msdcs.${netbios}${suffix ? `.${suffix}` : ''}`,
        'SRV',
      )
      const hit = candidates.find((r) => r.type === 'SRV')
      if (hit?.type === 'SRV') {
        dc = { target: hit.target.replace(/\.$/, ''), port: hit.port }
        break
      }
    }
  const dcAddress = dc ? await dns.address(dc.target) : undefined
  const ldapTo = dcAddress ? o.net.target(dcAddress, dc!.port, 'tcp') : undefined
  if (
    !run.step(
      'dc-locator',
      ldapTo !== undefined,
      dc ? `${dc.target}:${dc.port}` : 'no _ldap._tcp.dc._msdcs record for any candidate',
    )
  )
    return end('dc-not-found')
  run.learnt.dc = dc!.target

  // §2.5 trust: AD's CA objects, else the enrollment service's /certsrv
  const ldap = new Client({
    url: `ldap://${ldapTo!.host}:${ldapTo!.port}`,
    timeout: timeoutMs,
    connectTimeout: timeoutMs,
  })
  let configNc: string
  let enrollmentHost: string | undefined
  try {
    const dse = await ldap.search('', {
      scope: 'base',
      attributes: ['configurationNamingContext', 'currentTime'],
    })
    configNc = String(dse.searchEntries[0]?.configurationNamingContext ?? '')
    const dcTime = String(dse.searchEntries[0]?.currentTime ?? '')
    const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)/.exec(dcTime)
    if (m) {
      const dcMs = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
      const skew = phoneNow().getTime() - dcMs
      run.learnt.dcSkewMs = skew
      if (Math.abs(skew) > g.maxSkewMs) {
        run.step(
          'kerberos',
          false,
          `the phone's clock is ${Math.round(skew / 1000)} s off the DC's: Kerberos refuses (skew > ${g.maxSkewMs / 60_000} min)`,
        )
        return end('kerberos-skew')
      }
    }
    await ldap.bind(o.account, o.password)
    run.step('ldap-bind', true, `bound as ${o.account}`)
    if (state.roots().length === 0) {
      run.show(STATUS.downloading)
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
      run.step(
        'ldap-ca',
        found.length > 0,
        `${cas.searchEntries.length} CA object(s), ${found.length} certificate(s)`,
      )
      if (found.length > 0) state.addRoots(found)
      else {
        const svc = await ldap.search(configNc, {
          filter: '(objectCategory=pKIEnrollmentService)',
          attributes: ['dNSHostName'],
        })
        enrollmentHost = svc.searchEntries.map((e) => String(e.dNSHostName ?? '')).find(Boolean)
        run.step(
          'ldap-enrollment',
          enrollmentHost !== undefined,
          enrollmentHost ?? 'no pKIEnrollmentService object',
        )
      }
    }
  } catch (err) {
    run.step('ldap', false, (err as Error).message)
    await ldap.unbind().catch(() => undefined)
    return end('dc-not-found')
  }
  await ldap.unbind().catch(() => undefined)
  if (state.roots().length === 0 && enrollmentHost) {
    const address = await dns.address(enrollmentHost)
    const to = address ? o.net.target(address, 80, 'tcp') : undefined
    const conn = to ? await PhoneHttp.open(to.host, to.port, timeoutMs) : `${enrollmentHost} does not resolve`
    if (typeof conn !== 'string') {
      const a = await withNtlm(
        conn,
        'GET',
        '/certsrv/certnew.p7b?ReqID=CACert&Renewal=-1&Enc=b64',
        enrollmentHost,
        o.account,
        o.password,
        '',
        {},
        timeoutMs,
      )
      conn.close()
      let certs: x509.X509Certificate[] = []
      try {
        if (a?.status === 200) certs = certificatesFromPkcs7(a.body)
      } catch {
        certs = []
      }
      run.step(
        'certsrv',
        certs.length > 0,
        `GET certnew.p7b → ${a?.status ?? 'no answer'}${certs.length ? `, ${certs.length} certificate(s)` : ''}`,
      )
      // The chain's root: the self-issued one.
      const roots = certs.filter((c) => c.subject === c.issuer)
      if (roots.length > 0) state.addRoots(roots)
    } else run.step('certsrv', false, conn)
  }
  if (state.roots().length === 0) {
    run.show(STATUS.cannotValidate)
    return end('cannot-validate-certificate')
  }
  run.show(STATUS.installing)
  run.learnt.roots = state.roots().map((r) => r.subject)

  // §2.6 the SIP target walk, §2.7 TLS + REGISTER
  run.show(STATUS.connecting)
  const targets: { host: string; port: number }[] = []
  for (const s of ['_sipinternaltls._tcp', '_sip._tls', '_sipinternal._tcp']) {
    const found = await dns.srv(`${s}.${sipDomain}`)
    targets.push(...found.map((f) => ({ host: f.target, port: f.port })))
    if (found.length > 0) break
  }
  if (targets.length === 0)
    for (const [h, p] of [
      ['sipinternal', 5061],
      ['sipinternal', 443],
      ['sip', 5061],
      ['sip', 443],
      ['sipexternal', 5061],
      ['sipexternal', 443],
    ] as const)
      targets.push({ host: `${h}.${sipDomain}`, port: p })
  let sip: PhoneSip | undefined
  let lastFailure: TrustFailure | 'unreachable' | undefined
  for (const t of targets) {
    const address = await dns.address(t.host)
    const to = address ? o.net.target(address, t.port, 'tcp') : undefined
    if (!to) continue
    const tls = await phoneTls(to.host, to.port, t.host, state.roots(), phoneNow(), {
      sni,
      timeoutMs,
      maxVersion: g.tlsVersion,
    })
    if ('socket' in tls) {
      run.step('tls', true, `${t.host}:${t.port} ${tls.socket.getProtocol() ?? ''}`)
      sip = new PhoneSip(tls.socket, o.signIn, `${lease!.address}:5061`)
      run.learnt.pool = t.host
      break
    }
    lastFailure = tls.failure
    run.step('tls', false, `${t.host}:${t.port}: ${tls.reason}`)
    if (tls.failure !== 'unreachable') break
  }
  if (!sip) {
    if (lastFailure === 'sha2-root') return end('certificate-loop')
    if (lastFailure === 'sha2') return end('tls-failed')
    if (lastFailure && lastFailure !== 'unreachable') return end('tls-untrusted')
    run.step('sip-targets', false, `none of ${targets.length} targets answered`)
    return end('pool-not-found')
  }
  const registered = await sip.register(o.account, o.password, timeoutMs * 2)
  if (
    !run.step(
      'register',
      registered?.status === 200,
      `REGISTER → ${registered?.status ?? 'no answer'}${registered?.headers.get('expires') ? `, Expires ${registered.headers.get('expires')}` : ''}`,
    )
  ) {
    sip.close()
    return end('sign-in-refused')
  }
  state.everSignedIn = true
  state.user = o.account

  // §2.8 provisioning, then the self categories (where the e-mail travels is a GUESS; both are read)
  const event = g.provisioning === 'v2' ? 'vnd-microsoft-provisioning-v2' : 'vnd-microsoft-provisioning'
  const prov = await sip.request('SUBSCRIBE', [`Event: ${event}`, 'Expires: 0'], timeoutMs)
  const self = await sip.request('SUBSCRIBE', ['Event: vnd-microsoft-roaming-self', 'Expires: 0'], timeoutMs)
  sip.close()
  const props: Record<string, string> = {}
  try {
    const doc = prov?.status === 200 && prov.body.length > 0 ? parseXml(prov.body.toString()) : undefined
    for (const grp of children(doc, 'provisionGroup'))
      for (const p of children(path(grp, 'propertyEntryList'), 'property')) props[p.attrs.name ?? ''] = p.text
    for (const c of children(doc, 'serverConfiguration')) props[c.name] = c.text
    const selfDoc = self?.status === 200 && self.body.length > 0 ? parseXml(self.body.toString()) : undefined
    for (const cat of children(path(selfDoc, 'categories'), 'category')) {
      const email = path(cat, 'contactCard', 'identity', 'email')?.text
      if (email) props.primaryEmailAddress ??= email
      const um = path(cat, 'userProperties', 'exumEnabled')?.text
      if (um) props.exumEnabled ??= um
    }
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
  }
  run.step(
    'provisioning',
    prov?.status === 200,
    `${event} → ${prov?.status ?? 'no answer'}; e-mail ${props.primaryEmailAddress ?? 'none'}, DUS ${props.updatesServerInternalUrl || 'none'}`,
  )
  run.learnt.email = props.primaryEmailAddress
  if (props.updatesServerInternalUrl) state.dusUrl = props.updatesServerInternalUrl

  // §6.2 update check with the provisioned URL
  if (state.dusUrl) await updateCheck(state.dusUrl, 'update (provisioned)')
  run.learnt.firmware = state.firmware

  // §3, §4 Exchange, for a UM-enabled user
  let exchangeOk = true
  const email = props.primaryEmailAddress
  if (props.exumEnabled !== 'false') {
    exchangeOk = false
    if (!email) run.step('autodiscover', false, 'no primary e-mail address was provisioned')
    else {
      const smtp = email.split('@')[1]!
      const request = outlookRequest(email)
      let ewsUrl: string | undefined
      for (const way of g.autodiscover) {
        const host = way === 'https-smtp' ? smtp : `autodiscover.${smtp}`
        // The phone uses only the A record (§3.1).
        const address = (await dns.query(host, 'A')).find((r) => r.type === 'A')
        if (address?.type !== 'A') {
          run.step('autodiscover', false, `${host}: no A record`)
          continue
        }
        let httpsTo = o.net.target(address.address, 443, 'tcp')
        let httpsHost = host
        if (way === 'http-redirect') {
          const to = o.net.target(address.address, 80, 'tcp')
          const plain = to ? await PhoneHttp.open(to.host, to.port, timeoutMs) : 'unreachable'
          if (typeof plain === 'string') continue
          const r = await plain.request('GET', '/autodiscover/autodiscover.xml', host, {}, '', timeoutMs)
          plain.close()
          const location = r?.status === 302 ? r.headers.get('location')?.[0] : undefined
          if (!location) {
            run.step('autodiscover', false, `http://${host}: ${r?.status ?? 'no answer'}, no redirect`)
            continue
          }
          const l = new URL(location)
          const la = await dns.address(l.hostname)
          httpsTo = la ? o.net.target(la, 443, 'tcp') : undefined
          httpsHost = l.hostname
        }
        if (!httpsTo) continue
        const tls = await phoneTls(httpsTo.host, httpsTo.port, httpsHost, state.roots(), phoneNow(), {
          sni,
          timeoutMs,
          maxVersion: g.tlsVersion,
        })
        if (!('socket' in tls)) {
          run.step('autodiscover', false, `https://${httpsHost}: ${tls.reason}`)
          continue
        }
        const conn = new PhoneHttp(tls.socket)
        const a = await withNtlm(
          conn,
          'POST',
          '/autodiscover/autodiscover.xml',
          httpsHost,
          o.account,
          o.password,
          request,
          { 'Content-Type': 'text/xml' },
          timeoutMs,
        )
        conn.close()
        try {
          const protocols =
            a?.status === 200
              ? children(path(parseXml(a.body.toString()), 'Response', 'Account'), 'Protocol')
              : []
          const exch =
            protocols.find((p) => path(p, 'Type')?.text === 'EXCH') ??
            protocols.find((p) => path(p, 'Type')?.text === 'EXPR')
          for (const el of g.ewsUrl) ewsUrl ??= path(exch, el)?.text
        } catch (err) {
          if (!(err instanceof LabDecodeError)) throw err
        }
        run.step(
          'autodiscover',
          ewsUrl !== undefined,
          `https://${httpsHost} → ${a?.status ?? 'no answer'}${ewsUrl ? `, EWS ${ewsUrl}` : ', no EWS URL'}`,
        )
        if (ewsUrl) break
      }
      if (ewsUrl) {
        run.learnt.ewsUrl = ewsUrl
        const u = new URL(ewsUrl)
        const address = await dns.address(u.hostname)
        const to = address ? o.net.target(address, Number(u.port || 443), 'tcp') : undefined
        if (!to) run.step('ews', false, `${u.hostname} does not resolve`)
        else {
          const tls = await phoneTls(to.host, to.port, u.hostname, state.roots(), phoneNow(), {
            sni,
            timeoutMs,
            maxVersion: g.tlsVersion,
          })
          if (!('socket' in tls)) run.step('ews', false, `${u.hostname}: ${tls.reason}`)
          else {
            const conn = new PhoneHttp(tls.socket)
            const counts: Record<string, number> = {}
            for (const [folder, restriction] of [
              ['contacts', ''],
              ['voicemail', ''],
              ['inbox', MISSED_CALLS],
            ] as const) {
              const find = findItemRequest(
                folder,
                'IdOnly',
                '<m:IndexedPageItemView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning"/>',
                restriction,
              )
              const a = await withNtlm(
                conn,
                'POST',
                u.pathname,
                u.hostname,
                o.account,
                o.password,
                find,
                { 'Content-Type': 'text/xml; charset=utf-8' },
                timeoutMs,
              )
              try {
                const items = a?.status === 200 ? foundItems(a.body.toString()) : undefined
                if (items) counts[folder === 'inbox' ? 'missedCalls' : folder] = items.length
              } catch (err) {
                if (!(err instanceof LabDecodeError)) throw err
              }
            }
            conn.close()
            exchangeOk = Object.keys(counts).length === 3
            run.step(
              'ews',
              exchangeOk,
              Object.entries(counts)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || 'FindItem failed',
            )
            run.learnt.mailbox = counts
          }
        }
      }
    }
  }
  if (!exchangeOk) return end('signed-in-without-exchange')
  if (isNewer(LATEST_FIRMWARE, state.firmware)) return end('signed-in-not-updated')
  return end('signed-in')
}

/**
 * Reads `key=value` guess overrides (the CLI's --guess): option119=ascii|rfc3397|both, sni=true|false,
 * provisioning=v2|v1, autodiscover=https-smtp,https-autodiscover,http-redirect, ewsUrl=EwsUrl,ASUrl,
 * maxSkewMs=N, tlsVersion=TLSv1|TLSv1.2. Throws an Error naming the bad one.
 */
export function parseGuesses(pairs: readonly string[]): Partial<PhoneGuesses> {
  const out: Record<string, unknown> = {}
  const oneOf = <T extends string>(k: string, v: string, allowed: readonly T[]): T => {
    if (!(allowed as readonly string[]).includes(v))
      throw new Error(`--guess ${k} takes ${allowed.join(' | ')}, not "${v}"`)
    return v as T
  }
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    const [k, v] = at > 0 ? [pair.slice(0, at), pair.slice(at + 1)] : [pair, '']
    switch (k) {
      case 'option119':
        out.option119 = oneOf(k, v, ['ascii', 'rfc3397', 'both'] as const)
        break
      case 'sni':
        out.sni = oneOf(k, v, ['true', 'false'] as const) === 'true'
        break
      case 'provisioning':
        out.provisioning = oneOf(k, v, ['v2', 'v1'] as const)
        break
      case 'autodiscover':
        out.autodiscover = v
          .split(',')
          .map((x) => oneOf(k, x, ['https-smtp', 'https-autodiscover', 'http-redirect'] as const))
        break
      case 'ewsUrl':
        out.ewsUrl = v.split(',').map((x) => oneOf(k, x, ['EwsUrl', 'ASUrl'] as const))
        break
      case 'maxSkewMs':
        if (!/^\d+$/.test(v)) throw new Error(`--guess maxSkewMs takes milliseconds, not "${v}"`)
        out.maxSkewMs = Number(v)
        break
      case 'tlsVersion':
        out.tlsVersion = oneOf(k, v, ['TLSv1', 'TLSv1.2'] as const)
        break
      default:
        throw new Error(
          `--guess ${k} is not a guess the emulator has (option119, sni, provisioning, autodiscover, ewsUrl, maxSkewMs, tlsVersion)`,
        )
    }
  }
  return out
}
