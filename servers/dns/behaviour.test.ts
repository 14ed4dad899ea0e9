import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import { DnsRcode, DnsType, queryMessage, rdataText, type DnsMessage, type DnsRecord } from './codec.js'
import { alterAnswers, queryProblem, resolveDns, udpLimit } from './behaviour.js'
import {
  applyChanges,
  deriveRecords,
  deriveZones,
  indexZone,
  parseRecord,
  reverseZone,
  type ZoneData,
} from './zone.js'

const SCENARIO = `version: 1
name: t
site:
  sipDomain: contoso.test
  smtpDomain: contoso-mail.test
  adDomain: corp.contoso.test
  dhcpDomain: lab.contoso.test
  searchList: [corp.contoso.test, contoso.test]
`

function labZone(extra: DnsRecord[] = []): ZoneData {
  const s = loadScenario('t.yaml', SCENARIO)
  const records = [...deriveRecords(s.site, s.hosts, 300), ...extra]
  return indexZone(records, deriveZones(s.site, s.hosts, []), {
    hostname: 'dc1.corp.contoso.test',
    admin: 'hostmaster.corp.contoso.test',
    ttl: 300,
  })
}

const ask = (zone: ZoneData, name: string, type: number, outOfZone: 'refused' | 'nxdomain' = 'refused') =>
  resolveDns({ name, type, class: 1 }, zone, { outOfZone })
const values = (rs: readonly DnsRecord[]) => rs.map((r) => `${r.name} ${r.type} ${rdataText(r)}`)

describe('records derived from the site: every name a CX700 looks up', () => {
  const zone = labZone()
  it.each([
    ['_sipinternaltls._tcp.contoso.test', DnsType.SRV, '0 0 5061 ocspool.contoso.test.'], // §2.6 #1
    ['sip.contoso.test', DnsType.A, '10.50.0.1'], // §2.6 A fallback
    ['_ntp._udp.contoso.test', DnsType.SRV, '0 0 123 time.contoso.test.'], // §2.3
    ['time.windows.com', DnsType.A, '10.50.0.1'], // §2.3 fallback
    ['_ldap._tcp.dc._msdcs.corp.contoso.test', DnsType.SRV, '0 100 389 dc1.corp.contoso.test.'], // §2.4
    ['_kerberos._tcp.dc._msdcs.corp.contoso.test', DnsType.SRV, '0 100 88 dc1.corp.contoso.test.'], // §10.13
    ['autodiscover.contoso-mail.test', DnsType.A, '10.50.0.1'], // §3.1 SMTP domain
    ['autodiscover.contoso.test', DnsType.A, '10.50.0.1'], // §2.9 trace: SIP domain
    ['contoso-mail.test', DnsType.A, '10.50.0.1'], // §3.1 bare SMTP domain
    ['ucupdates-r2.lab.contoso.test', DnsType.A, '10.50.0.1'], // §6.1 DHCP domain
    ['ucupdates-r2.contoso.test', DnsType.A, '10.50.0.1'], // §6.1 SIP domain (Lync docs)
    ['1.0.50.10.in-addr.arpa', DnsType.PTR, 'dc1.corp.contoso.test.'],
  ])('%s %s', (name, type, value) => {
    const a = ask(zone, name, type)
    expect(a.rcode).toBe(DnsRcode.NOERROR)
    expect(a.aa).toBe(true)
    expect(a.answers.map(rdataText)).toContain(value)
  })

  it('adds the target addresses of an SRV answer as glue', () => {
    const a = ask(zone, '_sipinternaltls._tcp.contoso.test', DnsType.SRV)
    expect(values(a.additionals)).toEqual(['ocspool.contoso.test A 10.50.0.1'])
  })

  it('is authoritative for the site domains, the search list, time.windows.com and the reverse zone', () => {
    const s = loadScenario('t.yaml', SCENARIO)
    expect(deriveZones(s.site, s.hosts, ['extra.test']).sort()).toEqual(
      [
        '0.50.10.in-addr.arpa',
        'contoso-mail.test',
        'contoso.test',
        'corp.contoso.test',
        'extra.test',
        'lab.contoso.test',
        'time.windows.com',
      ].sort(),
    )
    expect(reverseZone('192.168.0.0/16')).toBe('168.192.in-addr.arpa')
  })
})

describe('resolveDns', () => {
  const zone = labZone([
    { name: 'www.contoso.test', class: 1, ttl: 60, type: 'CNAME', target: 'sip.contoso.test' },
    { name: 'out.contoso.test', class: 1, ttl: 60, type: 'CNAME', target: 'elsewhere.example' },
    { name: 'loop1.contoso.test', class: 1, ttl: 60, type: 'CNAME', target: 'loop2.contoso.test' },
    { name: 'loop2.contoso.test', class: 1, ttl: 60, type: 'CNAME', target: 'loop1.contoso.test' },
    { name: '*.wild.contoso.test', class: 1, ttl: 60, type: 'A', address: '10.9.9.9' },
  ])

  it('NXDOMAIN for a name that does not exist, with the zone SOA for negative caching', () => {
    const a = ask(zone, 'nothere.contoso.test', DnsType.A)
    expect(a.rcode).toBe(DnsRcode.NXDOMAIN)
    expect(values(a.authorities)).toEqual([
      'contoso.test SOA dc1.corp.contoso.test. hostmaster.corp.contoso.test. 1 900 600 86400 300',
    ])
  })

  it('NODATA (NOERROR, no answer) for an existing name without that type, and for an empty non-terminal', () => {
    for (const [name, type] of [
      ['sip.contoso.test', DnsType.AAAA],
      ['_tcp.contoso.test', DnsType.A],
      ['dc._msdcs.corp.contoso.test', DnsType.SRV],
    ] as const) {
      const a = ask(zone, name, type)
      expect(a.rcode, name).toBe(DnsRcode.NOERROR)
      expect(a.answers, name).toEqual([])
      expect(
        a.authorities.map((r) => r.type),
        name,
      ).toEqual(['SOA'])
    }
  })

  it('REFUSED outside the lab zones when the scenario says so, or NXDOMAIN (the default), never authoritative', () => {
    expect(ask(zone, 'example.com', DnsType.A)).toMatchObject({ rcode: DnsRcode.REFUSED, aa: false })
    expect(ask(zone, 'example.com', DnsType.A, 'nxdomain').rcode).toBe(DnsRcode.NXDOMAIN)
    expect(
      resolveDns({ name: 'version.bind', type: 16, class: 3 }, zone, { outOfZone: 'refused' }).rcode,
    ).toBe(DnsRcode.REFUSED)
  })

  it('answers SOA and NS at a zone apex, case-insensitively', () => {
    expect(ask(zone, 'Contoso.TEST', DnsType.SOA).answers.map((r) => r.type)).toEqual(['SOA'])
    expect(values(ask(zone, 'contoso.test', DnsType.NS).answers)).toEqual([
      'contoso.test NS dc1.corp.contoso.test.',
    ])
  })

  it('follows CNAME chains inside the lab, stops at a target outside it, and fails a loop with SERVFAIL', () => {
    expect(values(ask(zone, 'www.contoso.test', DnsType.A).answers)).toEqual([
      'www.contoso.test CNAME sip.contoso.test.',
      'sip.contoso.test A 10.50.0.1',
    ])
    expect(values(ask(zone, 'out.contoso.test', DnsType.A).answers)).toEqual([
      'out.contoso.test CNAME elsewhere.example.',
    ])
    expect(ask(zone, 'www.contoso.test', DnsType.CNAME).answers.map((r) => r.type)).toEqual(['CNAME'])
    expect(ask(zone, 'loop1.contoso.test', DnsType.A).rcode).toBe(DnsRcode.SERVFAIL)
  })

  it('answers a wildcard with the name that was asked', () => {
    expect(values(ask(zone, 'any.wild.contoso.test', DnsType.A).answers)).toEqual([
      'any.wild.contoso.test A 10.9.9.9',
    ])
  })

  it('ANY returns every record at the name', () => {
    expect(
      ask(zone, 'contoso.test', DnsType.ANY)
        .answers.map((r) => r.type)
        .sort(),
    ).toEqual(['NS', 'SOA'])
  })
})

describe('changes to the derived records', () => {
  it('removes by name and type, and an added record replaces those of its name and type', () => {
    const s = loadScenario('t.yaml', SCENARIO)
    const derived = deriveRecords(s.site, s.hosts, 300)
    const srv = parseRecord(
      { name: '_sip._tls.contoso.test', type: 'SRV', value: '0 0 443 ocspool.contoso.test' },
      300,
    )
    const a = parseRecord({ name: 'sip.contoso.test', type: 'A', value: '10.50.0.99', ttl: 5 }, 300)
    const out = applyChanges(derived, [{ name: '_sipinternaltls._tcp.contoso.test', type: 'SRV' }], [srv, a])
    const names = out.map((r) => `${r.name} ${r.type}`)
    expect(names).not.toContain('_sipinternaltls._tcp.contoso.test SRV')
    expect(names).toContain('_sip._tls.contoso.test SRV')
    expect(out.filter((r) => r.name === 'sip.contoso.test').map(rdataText)).toEqual(['10.50.0.99'])
  })

  it('reads zone-file data and says exactly what is wrong with bad data', () => {
    expect(
      parseRecord({ name: 'Mail.Contoso.test.', type: 'MX', value: '10 mail.contoso.test' }, 300),
    ).toMatchObject({
      name: 'mail.contoso.test',
      preference: 10,
      exchange: 'mail.contoso.test',
    })
    expect(() => parseRecord({ name: 'x.test', type: 'A', value: '10.0.0.256' }, 1)).toThrow(
      'Failed to read the A record of x.test: "10.0.0.256" is not an IPv4 address.',
    )
    expect(() => parseRecord({ name: 'x.test', type: 'SRV', value: '0 0 5061' }, 1)).toThrow(
      /priority weight port target/,
    )
    expect(() => parseRecord({ name: 'x.test', type: 'SRV', value: '0 0 99999 a.test' }, 1)).toThrow(
      /port "99999"/,
    )
    expect(() => parseRecord({ name: 'x.test', type: 'CNAME', value: 'bad name!' }, 1)).toThrow(
      /not a DNS name/,
    )
  })

  it('the answer fault rewrites addresses and SRV fields, leaving the rest', () => {
    const zone = labZone()
    const srv = ask(zone, '_sipinternaltls._tcp.contoso.test', DnsType.SRV).answers
    expect(
      alterAnswers(srv, { port: 5062, priority: 7, target: 'Wrong.contoso.test' }).map(rdataText),
    ).toEqual(['7 0 5062 wrong.contoso.test.'])
    expect(
      alterAnswers(ask(zone, 'sip.contoso.test', 1).answers, { address: '10.1.2.3', ttl: 1 }),
    ).toMatchObject([{ address: '10.1.2.3', ttl: 1 }])
  })
})

describe('query checks', () => {
  const q = (over: Partial<DnsMessage>): DnsMessage => ({ ...queryMessage('a.test', 1, { id: 1 }), ...over })
  it('NOTIMP for other opcodes and zone transfers, FORMERR for no or two questions, BADVERS for EDNS > 0', () => {
    expect(queryProblem(q({}))).toBeUndefined()
    expect(queryProblem(q({ opcode: 5 }))).toBe(DnsRcode.NOTIMP)
    expect(queryProblem(q({ questions: [{ name: 'a.test', type: 252, class: 1 }] }))).toBe(DnsRcode.NOTIMP)
    expect(queryProblem(q({ questions: [] }))).toBe(DnsRcode.FORMERR)
    const edns1 = { udpSize: 4096, extendedRcode: 0, version: 1, dnssecOk: false, options: [] }
    expect(queryProblem(q({ edns: edns1 }))).toBe(DnsRcode.BADVERS)
  })
  it('limits UDP answers to 512 octets without EDNS, else to the smaller of both sizes', () => {
    expect(udpLimit(q({}), 1232)).toBe(512)
    const e = (udpSize: number) =>
      q({ edns: { udpSize, extendedRcode: 0, version: 0, dnssecOk: false, options: [] } })
    expect(udpLimit(e(4096), 1232)).toBe(1232)
    expect(udpLimit(e(100), 1232)).toBe(512)
  })
})
