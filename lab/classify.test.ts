import { describe, expect, it } from 'vitest'
import type { JournalEvent } from '../core/journal/journal.js'
import { classify } from './classify.js'
import { checkExpectations } from './scenario/expect.js'

let seq = 0
const ev = (
  server: string,
  kind: string,
  detail: Record<string, unknown>,
  summary = 'words',
): JournalEvent => ({
  seq: ++seq,
  time: new Date(Date.UTC(2026, 10, 28, 10, 0, seq)).toISOString(),
  server,
  kind,
  summary,
  detail,
})

describe("each server's classifier, through the registry", () => {
  it('reads stage and outcome from the detail each server writes, never the summary', () => {
    const cases: [JournalEvent, ReturnType<typeof classify>][] = [
      [ev('dhcp', 'dhcp:request', { mac: 'm', xid: '1' }), { stage: 'DHCP', ok: true }],
      [ev('dhcp', 'dhcp:reply', { mac: 'm', xid: '1', fault: 'drop' }), { stage: 'DHCP', ok: false }],
      [ev('dhcp', 'dhcp:rogue-check', { offers: [] }), undefined],
      [
        ev('dns', 'dns:query', { transport: 'udp', rcode: 'NOERROR' }, '→ NXDOMAIN'),
        { stage: 'DNS', ok: true },
      ],
      [ev('dns', 'dns:query', { transport: 'udp', rcode: 'REFUSED' }, '→ fine'), { stage: 'DNS', ok: false }],
      [ev('dns', 'dns:record-added', { id: 'd1' }), undefined],
      [ev('ntp', 'ntp:response', { kiss: 'RATE' }), { stage: 'NTP', ok: false }],
      [ev('ntp', 'ntp:response', { stratum: 2 }), { stage: 'NTP', ok: true }],
      [ev('ldap', 'ldap:bind', { result: 'invalidCredentials' }), { stage: 'DC/LDAP', ok: false }],
      [ev('ldap', 'ldap:search', { result: 'success' }), { stage: 'DC/LDAP', ok: true }],
      // The KDC has a lane of its own; PREAUTH_REQUIRED is how every AS exchange starts, not a failure.
      [
        ev('kerberos', 'kerberos:response', { error: 'KDC_ERR_PREAUTH_REQUIRED' }),
        { stage: 'Kerberos', ok: true },
      ],
      [ev('kerberos', 'kerberos:response', { error: 'KRB_AP_ERR_SKEW' }), { stage: 'Kerberos', ok: false }],
      [ev('kerberos', 'kerberos:response', { chosen: 'rc4-hmac' }), { stage: 'Kerberos', ok: true }],
      [ev('netbios', 'netbios:response', { rcode: 'NAM_ERR' }), { stage: 'DC/LDAP', ok: false }],
      [ev('netbios', 'netbios:response', { rcode: 'ok' }), { stage: 'DC/LDAP', ok: true }],
      [ev('sip', 'sip:request', { status: 401 }), { stage: 'SIP', ok: true }],
      [ev('sip', 'sip:request', { status: 503 }), { stage: 'SIP', ok: false }],
      [ev('sip', 'sip:tls-failed', { error: 'x' }), { stage: 'SIP', ok: false }],
      [ev('http', 'http:request', { area: 'certsrv', status: 200 }), { stage: 'certsrv', ok: true }],
      [ev('http', 'http:request', { area: 'ews', status: 0, fault: 'drop' }), { stage: 'EWS', ok: false }],
      [ev('http', 'http:request', { area: 'dus', status: 404 }), { stage: 'DUS', ok: false }],
      [
        ev('http', 'http:request', { area: 'autodiscover', status: 200 }),
        { stage: 'Autodiscover', ok: true },
      ],
      [ev('http', 'http:mailboxes-reset', {}), undefined],
      [ev('lab', 'lab:started', {}), undefined],
      [ev('ntp', 'ntp:failed', {}), { stage: 'NTP', ok: false }],
    ]
    for (const [e, expected] of cases) expect(classify(e), `${e.server} ${e.kind}`).toEqual(expected)
  })

  it('lets expect: rules name a stage and an outcome', () => {
    const events = [
      ev('dns', 'dns:query', { transport: 'udp', rcode: 'NXDOMAIN' }),
      ev('ldap', 'ldap:bind', { result: 'success' }),
    ]
    const outcome = { endState: 'signed-in', status: [] }
    const rules = (journal: object[]) => ({ journal }) as Parameters<typeof checkExpectations>[0]
    expect(checkExpectations(rules([{ some: { stage: 'DNS', ok: false } }]), outcome, events)).toEqual([])
    expect(checkExpectations(rules([{ none: { stage: 'DC/LDAP', ok: false } }]), outcome, events)).toEqual([])
    const missing = checkExpectations(rules([{ some: { stage: 'SIP' } }]), outcome, events)
    expect(missing).toHaveLength(1)
    expect(missing[0]?.expected).toContain('stage SIP')
  })
})
