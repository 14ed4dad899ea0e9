import type { EndState } from '../scenario/schema.js'
import type { StagedEvent as TimelineEvent } from '../../core/journal/events.js'

/** A detail field that is text, or ''. */
const text = (v: unknown): string => (typeof v === 'string' ? v : '')

/**
 * What the phone shows, inferred once from what the servers saw of it — the only view the lab has of a
 * hardware phone. The dashboard's lanes, the trainee page, `verify --device`, reports and golden timelines
 * all read it from here (`phoneScreen`, `inferStatus`, `inferEndState`); nothing reads a summary's text.
 */

/**
 * Where a phone's last boot (from its last DHCPDISCOVER) ended, read from what the servers saw of it — the
 * only view the lab has of a hardware phone (issue 22). The rules, in order, each from the servers' own
 * event details (never a summary):
 *
 * 1. a REGISTER answered 200: signed in — `signed-in-without-exchange` when the phone looked for Exchange
 *    (an Autodiscover name in DNS, or Autodiscover itself) and no EWS request was answered 200 (a phone
 *    whose user is not UM-enabled never looks, spec §4.1);
 * 2. the KDC answered KRB_AP_ERR_SKEW: `kerberos-skew`;
 * 3. the KDC refused the logon (pre-authentication failed, revoked, key expired, unknown client), the DC
 *    refused a bind with invalidCredentials, or the pool answered the REGISTER 403 or 404:
 *    `sign-in-refused`;
 * 4. it went back to the DC after reaching the pool within the boot: `certificate-loop`; the pool answered its REGISTER
 *    5xx: `pool-not-found` (the phone tries again later);
 * 5. it reached the pool (a ClientHello) and sent no REGISTER: `tls-untrusted` (the phone refused the
 *    chain — an untrusted root and a SHA-2 certificate look alike from the server); a handshake the lab
 *    saw fail is `tls-failed`;
 * 6. it searched AD for CA objects and found no root there or at /certsrv: `cannot-validate-certificate`;
 * 7. it had an address and asked DNS, but never reached the DC: `dc-not-found`; reached the DC and the
 *    certificates, but never the pool: `pool-not-found`;
 * 8. no DHCP ACK: `no-address`.
 *
 * What the servers cannot see is not inferred: whether an update was pending (`signed-in-not-updated`),
 * a crash after provisioning (`crashed-after-sign-in`), an unset clock before the KDC (`clock-not-set`).
 */
/** The events of the phone's last boot: from its last DHCPDISCOVER (a renewal is a REQUEST, not a boot). */
export function lastBoot(events: readonly TimelineEvent[]): readonly TimelineEvent[] {
  let start = 0
  events.forEach((e, i) => {
    if (e.kind === 'dhcp:request' && e.detail.type === 'DISCOVER') start = i
  })
  return events.slice(start)
}

/** How many times a boot went back to the DC after reaching the pool (F10's loop; a reboot is a new boot). */
function loopsIn(events: readonly TimelineEvent[]): number {
  let loops = 0
  let reachedPool = false
  for (const e of events) {
    // The phone talking to the pool (not the pool's own bookkeeping: a registration that expired or ended).
    if (e.kind === 'sip:client-hello' || e.kind === 'sip:request') reachedPool = true
    if (e.stage === 'DC/LDAP' && reachedPool) {
      loops++
      reachedPool = false
    }
  }
  return loops
}

export function inferEndState(events: readonly TimelineEvent[]): EndState {
  const ev = lastBoot(events)
  const has = (p: (e: TimelineEvent) => boolean): boolean => ev.some(p)
  const d = (e: TimelineEvent, k: string): unknown => e.detail[k]
  const register = (status: number) => (e: TimelineEvent) =>
    e.kind === 'sip:request' && d(e, 'method') === 'REGISTER' && d(e, 'status') === status
  const kdcError =
    (...names: string[]) =>
    (e: TimelineEvent) =>
      e.kind === 'kerberos:response' && names.includes(String(d(e, 'error')))
  if (has(register(200))) {
    // The phone looks for Exchange only for a UM-enabled user (spec §4.1): it asked DNS for an Autodiscover
    // name or Autodiscover itself; then Exchange works only if an EWS request was answered 200.
    const lookedForExchange =
      has((e) => e.kind === 'dns:query' && /^autodiscover\./i.test(text(d(e, 'qname')))) ||
      has((e) => e.stage === 'Autodiscover')
    const ews = has((e) => e.stage === 'EWS' && e.kind === 'http:request' && d(e, 'status') === 200)
    return lookedForExchange && !ews ? 'signed-in-without-exchange' : 'signed-in'
  }
  if (has(kdcError('KRB_AP_ERR_SKEW'))) return 'kerberos-skew'
  if (
    has(
      kdcError(
        'KDC_ERR_PREAUTH_FAILED',
        'KDC_ERR_CLIENT_REVOKED',
        'KDC_ERR_KEY_EXPIRED',
        'KDC_ERR_C_PRINCIPAL_UNKNOWN',
      ),
    ) ||
    has((e) => e.kind === 'ldap:bind' && d(e, 'result') === 'invalidCredentials') ||
    has(register(403)) ||
    has(register(404))
  )
    return 'sign-in-refused'
  if (loopsIn(ev) > 0) return 'certificate-loop'
  // A pool that answered the REGISTER 5xx (busy, down) is one the phone could not use: as if not found.
  if (has((e) => e.kind === 'sip:request' && d(e, 'method') === 'REGISTER' && Number(d(e, 'status')) >= 500))
    return 'pool-not-found'
  if (has((e) => e.kind === 'sip:tls-failed')) return 'tls-failed'
  if (has((e) => e.kind === 'sip:client-hello')) return 'tls-untrusted'
  const caSearch = (e: TimelineEvent): boolean =>
    e.kind === 'ldap:search' && /objectCategory=certificationAuthority/i.test(text(d(e, 'filter')))
  const found = (e: TimelineEvent): boolean =>
    Array.isArray(d(e, 'entries')) && (d(e, 'entries') as unknown[]).length > 0
  const searchedCas = has(caSearch)
  const gotRoot =
    has((e) => e.stage === 'certsrv' && d(e, 'status') === 200) || has((e) => caSearch(e) && found(e))
  if (searchedCas && !gotRoot) return 'cannot-validate-certificate'
  const addressed = has((e) => e.kind === 'dhcp:reply' && d(e, 'type') === 'ACK')
  if (!addressed) return 'no-address'
  if (!has((e) => e.stage === 'DC/LDAP' && e.kind.startsWith('ldap:'))) return 'dc-not-found'
  return 'pool-not-found'
}

/**
 * The status lines the phone presumably showed in its last boot, from what the servers saw (spec §2.4, §2.5):
 * "Locating Domain Controller" once it asked for the DC-locator record or reached the DC or its KDC, "Downloading Certificate" once it searched
 * for CA objects, "Installing Certificate" once a root came (from AD or /certsrv), "Connecting to Office
 * Communications Server" once it looked up the pool's SIP records or opened TLS to it, and "Cannot validate server certificate" when the
 * boot ended there.
 */
export function inferStatus(events: readonly TimelineEvent[]): string[] {
  const out: string[] = []
  const show = (line: string): void => {
    if (out.at(-1) !== line) out.push(line)
  }
  const lastIs = (line: string): boolean => out.at(-1) === line
  for (const e of lastBoot(events)) {
    const filter = text(e.detail.filter)
    // The DNS names it asks say what it is doing even when nothing answers (F2, F4, F14).
    const qname = e.kind === 'dns:query' ? text(e.detail.qname) : ''
    if (/^_ldap\._tcp\.dc\._msdcs\./i.test(qname) && out.length === 0) show('Locating Domain Controller')
    if (/^(_sipinternaltls\._tcp|_sip\._tls)\./i.test(qname))
      show('Connecting to Office Communications Server')
    if (e.stage === 'DC/LDAP' || e.stage === 'Kerberos') {
      if (/objectCategory=certificationAuthority/i.test(filter)) show('Downloading Certificate')
      // Looking for the enrollment service is part of fetching the root (from /certsrv), when none came yet.
      else if (
        /objectCategory=pKIEnrollmentService/i.test(filter) &&
        (out.length === 0 || lastIs('Locating Domain Controller'))
      )
        show('Downloading Certificate')
      else if (out.length === 0 || out.at(-1) === 'Connecting to Office Communications Server')
        show('Locating Domain Controller')
      const found = Array.isArray(e.detail.entries) && e.detail.entries.length > 0
      if (/objectCategory=certificationAuthority/i.test(filter) && found) show('Installing Certificate')
    }
    if (e.stage === 'certsrv' && e.detail.status === 200) show('Installing Certificate')
    if (e.kind === 'sip:client-hello') show('Connecting to Office Communications Server')
  }
  if (inferEndState(events) === 'cannot-validate-certificate') show('Cannot validate server certificate')
  return out
}

/** Whether the last boot signed in (a REGISTER answered 200), with Exchange or without it. */
export const signedIn = (state: EndState): boolean =>
  state === 'signed-in' || state === 'signed-in-without-exchange'

/**
 * The line the phone presumably shows now: "Signed in" once its REGISTER was answered 200, else the last
 * status line of its boot (`inferStatus`), else "Starting" — the spec knows no line for a phone without an
 * address (F1), so the lab does not make one up; the stages show where it stands.
 */
export function phoneScreen(events: readonly TimelineEvent[]): string {
  if (signedIn(inferEndState(events))) return 'Signed in'
  return inferStatus(events).at(-1) ?? 'Starting'
}
