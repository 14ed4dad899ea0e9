import { describe, expect, it } from 'vitest'
import type { JournalEvent } from '../../core/journal/journal.js'
import { buildTimelines, classify } from './timeline.js'

let seq = 0
const at = (s: number): string => new Date(Date.UTC(2026, 10, 25, 10, 0, s)).toISOString()
function ev(
  server: string,
  kind: string,
  summary: string,
  t: number,
  extra: Partial<JournalEvent> = {},
): JournalEvent {
  return { seq: ++seq, time: at(t), server, kind, summary, detail: {}, ...extra }
}
const phone = {
  device: { mac: '00:04:f2:00:00:01', ip: '10.50.0.100' },
  peer: { address: '10.50.0.100', port: 5000, transport: 'udp' as const },
}

describe('device timelines', () => {
  it('joins a device’s events across protocols by MAC, IP and user, in stages', () => {
    const events = [
      ev('lab', 'lab:started', 'scenario default running', 0),
      ev('dhcp', 'dhcp:request', 'DISCOVER', 1, {
        device: { mac: '00:04:f2:00:00:01' },
        peer: { address: '0.0.0.0', port: 68, transport: 'udp' },
      }),
      ev('dhcp', 'dhcp:reply', 'ACK 10.50.0.100', 1, phone),
      // The servers' classifiers read the detail the servers write, never the summary.
      ev('dns', 'dns:query', 'an NXDOMAIN whose summary does not say so', 2, {
        device: { ip: '10.50.0.100' },
        detail: { transport: 'udp', qname: '_ldap._tcp.dc._msdcs.corp', qtype: 'SRV', rcode: 'NXDOMAIN' },
      }),
      ev('ldap', 'ldap:bind', '#1 simple bind CORP\\alice → success as alice@contoso.test', 3, {
        device: { ip: '10.50.0.100', user: 'alice@contoso.test' },
        detail: { id: 1, result: 'success' },
      }),
      ev('sip', 'sip:request', 'REGISTER alice@contoso.test → 200 REGISTER, Expires 900', 4, {
        device: { user: 'alice@contoso.test' },
        detail: { method: 'REGISTER', status: 200 },
      }),
      ev('http', 'http:request', 'POST /EWS/Exchange.asmx FindItem voicemail → 200', 5, {
        device: { user: 'alice@contoso.test' },
        detail: { area: 'ews', status: 200 },
      }),
      ev('dhcp', 'dhcp:request', 'DISCOVER', 6, {
        device: { mac: '00:04:f2:00:00:02' },
        peer: { address: '0.0.0.0', port: 68, transport: 'udp' },
      }),
    ]
    const [second, first] = buildTimelines(events, Date.parse(at(7)))
    expect(first?.key).toBe('mac:00:04:f2:00:00:01')
    expect(first?.users).toEqual(['alice@contoso.test'])
    expect(first?.events.map((e) => e.stage)).toEqual(['DHCP', 'DHCP', 'DNS', 'DC/LDAP', 'SIP', 'EWS'])
    expect(first?.stages.DNS).toEqual({ count: 1, failed: 1, last: 'failed' })
    expect(first?.stages.EWS?.last).toBe('ok')
    expect(first?.screen).toBe('Signed in')
    expect(first?.alert).toBeUndefined()
    expect(second?.key).toBe('mac:00:04:f2:00:00:02')
    expect(classify(events[0]!)).toBeUndefined()
    expect(classify(events[3]!)).toEqual({ stage: 'DNS', ok: false })
  })

  it('sees a loop back to the DC after the pool, and a stall after a stage that is not the end', () => {
    const d = { device: { ip: '10.50.0.101' } }
    const loop = [
      ev('ldap', 'ldap:search', 'search certificationAuthority → success', 1, d),
      ev('sip', 'sip:tls-failed', 'TLS handshake failed', 2, d),
      ev('ldap', 'ldap:search', 'search certificationAuthority → success', 3, d),
      ev('sip', 'sip:tls-failed', 'TLS handshake failed', 4, d),
      ev('ldap', 'ldap:search', 'search certificationAuthority → success', 5, d),
    ]
    const [t] = buildTimelines(loop, Date.parse(at(6)))
    expect(t?.loops).toBe(2)
    expect(t?.alert).toBe('cycling Locating Domain Controller → Connecting, 3rd time')
    const stalled = buildTimelines(
      [
        ev('certsrv', 'x', 'x', 0),
        ev('ldap', 'ldap:search', 'search pKIEnrollmentService → success', 1, {
          ...d,
          detail: { filter: '(objectCategory=pKIEnrollmentService)' },
        }),
      ],
      Date.parse(at(100)),
    )[0]
    expect(stalled?.screen).toBe('Downloading Certificate')
    expect(stalled?.alert).toBe('no request for 99 s after Downloading Certificate')
  })

  it('keeps one lane per MAC when several phones sign in as one user (issue 36, finding 5)', () => {
    const boot = (mac: string, ip: string, t: number): JournalEvent[] => [
      ev('dhcp', 'dhcp:request', 'DISCOVER', t, {
        device: { mac },
        peer: { address: '0.0.0.0', port: 68, transport: 'udp' },
      }),
      ev('dhcp', 'dhcp:reply', `ACK ${ip}`, t, {
        device: { mac, ip },
        peer: { address: ip, port: 68, transport: 'udp' },
      }),
      ev('ldap', 'ldap:bind', '#1 simple bind → success as alice@contoso.test', t + 1, {
        device: { ip, user: 'alice@contoso.test' },
        detail: { id: 1, result: 'success' },
      }),
      ev('sip', 'sip:request', 'REGISTER alice@contoso.test → 200 REGISTER', t + 2, {
        device: { ip, user: 'alice@contoso.test' },
        detail: { method: 'REGISTER', status: 200 },
      }),
    ]
    const events = [
      ...boot('00:04:f2:00:00:0a', '10.50.0.110', 1),
      ...boot('00:04:f2:00:00:0b', '10.50.0.111', 2),
      ...boot('00:04:f2:00:00:0c', '10.50.0.112', 3),
    ]
    const lanes = buildTimelines(events, Date.parse(at(9)))
    expect(lanes.map((l) => l.key).sort()).toEqual([
      'mac:00:04:f2:00:00:0a',
      'mac:00:04:f2:00:00:0b',
      'mac:00:04:f2:00:00:0c',
    ])
    for (const l of lanes) {
      expect(l.users).toEqual(['alice@contoso.test'])
      expect(l.events.map((e) => e.stage)).toEqual(['DHCP', 'DHCP', 'DC/LDAP', 'SIP'])
      expect(l.loops).toBe(0)
      expect(l.alert).toBeUndefined()
    }
  })

  it('does not call reboots the lab asked for a loop; the same cycle by itself is one', () => {
    const mac = '00:04:f2:00:00:0d'
    const d = { device: { mac, ip: '10.50.0.120' } }
    const cycle = (t: number): JournalEvent[] => [
      ev('ldap', 'ldap:search', 'search certificationAuthority → success', t, d),
      ev('sip', 'sip:request', 'REGISTER → 200 REGISTER', t + 1, {
        ...d,
        detail: { method: 'REGISTER', status: 200 },
      }),
    ]
    const command = (t: number): JournalEvent =>
      ev('lab', 'lab:phone-command', `reboot asked of the emulated phone ${mac}`, t, {
        device: { mac },
        detail: { mac, command: 'reboot' },
      })
    const commanded = [
      ...cycle(1),
      command(3),
      ...cycle(4),
      command(6),
      ...cycle(7),
      command(9),
      ...cycle(10),
    ]
    const [t] = buildTimelines(commanded, Date.parse(at(12)))
    expect(t?.loops).toBe(0)
    expect(t?.alert).toBeUndefined()
    const [self] = buildTimelines([...cycle(20), ...cycle(22), ...cycle(24)], Date.parse(at(26)))
    expect(self?.loops).toBe(2)
  })
})
