import { describe, expect, it } from 'vitest'
import type { JournalEvent } from '../../core/journal/journal.js'
import { exchangeOf, ladderSvg } from './ladder.js'
import { buildTimelines } from './timeline.js'

let seq = 0
const at = (s: number): string => new Date(Date.UTC(2026, 10, 25, 10, 0, s)).toISOString()
const mac = '00:04:f2:00:00:31'
const d = { device: { mac, ip: '10.50.0.130' } }
const ev = (server: string, kind: string, summary: string, t: number, extra: Partial<JournalEvent> = {}) =>
  ({ seq: ++seq, time: at(t), server, kind, summary, detail: {}, ...d, ...extra }) as JournalEvent

describe('the ladder diagram of a boot', () => {
  const events = [
    ev('dhcp', 'dhcp:request', 'DISCOVER from 00:04:f2:00:00:31', 0, {
      detail: { type: 'DISCOVER' },
      peer: { address: '0.0.0.0', port: 68, transport: 'udp' },
    }),
    ev('dns', 'dns:query', '_ldap._tcp.dc._msdcs.corp A → NXDOMAIN', 1, {
      detail: {
        transport: 'udp',
        qname: '_ldap._tcp.dc._msdcs.corp',
        qtype: 'SRV',
        rcode: 'NXDOMAIN',
        fault: 'error',
      },
    }),
    ev('ldap', 'ldap:search', 'search certificationAuthority → 1 entry', 2, {
      detail: { result: 'success' },
    }),
    ev('sip', 'sip:request', 'REGISTER alice@contoso.test → 200 REGISTER, Expires 900', 3, {
      detail: { method: 'REGISTER', status: 200 },
    }),
  ]
  const [t] = buildTimelines(events, Date.parse(at(4)))

  it('splits a summary into the request and the answer', () => {
    expect(exchangeOf({ summary: 'GET /certsrv → 200' })).toEqual({ ask: 'GET /certsrv', answer: '200' })
    expect(exchangeOf({ summary: 'DISCOVER from x' })).toEqual({ ask: 'DISCOVER from x', answer: undefined })
  })

  it('draws the phone and each server it talked to, one row per exchange, failures and faults marked', () => {
    const svg = ladderSvg(t!)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    // Columns: the phone, then the servers in the registry's order (only those of this boot).
    const columns = [...svg.matchAll(/<text [^>]*class="col">([^<]*)<\/text>/g)].map((m) => m[1])
    expect(columns).toEqual([`mac:${mac}`, 'dhcp', 'dns', 'ldap', 'sip'])
    const rows = [...svg.matchAll(/<g class="row ([^"]*)" data-seq="(\d+)" data-stage="([^"]*)"/g)]
    expect(rows.map((r) => [r[1], r[3]])).toEqual([
      ['ok', 'DHCP'],
      ['failed fault', 'DNS'],
      ['ok', 'DC/LDAP'],
      ['ok', 'SIP'],
    ])
    expect(svg).toContain('⚡ _ldap._tcp.dc._msdcs.corp A')
    expect(svg).toContain('>200 REGISTER, Expires 900<')
    // The DHCP request has no answer in its summary: one arrow, no answer line.
    expect(svg.match(/class="answer"/g)).toHaveLength(3)
  })

  it('draws one stage alone, and escapes what the phone sent', () => {
    const svg = ladderSvg(t!, { stage: 'SIP' })
    expect(svg.match(/<g class="row/g)).toHaveLength(1)
    expect(svg).toContain('aria-label="Ladder of mac:00:04:f2:00:00:31, stage SIP: 1 exchanges"')
    const hostile = buildTimelines(
      [
        ev('sip', 'sip:request', 'REGISTER <script>x</script> → 404', 5, {
          detail: { method: 'REGISTER', status: 404 },
        }),
      ],
      Date.parse(at(6)),
    )[0]!
    expect(ladderSvg(hostile)).not.toContain('<script>')
  })
})
