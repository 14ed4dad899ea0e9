import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { DnsType, encodeDns } from '../../servers/dns/codec.js'
import { dnsQuery, udpExchange } from '../helpers/dns-client.js'
import { MINIMAL_SCENARIO, startTestLab, type TestLab } from '../helpers/lab.js'
import { tool } from '../helpers/tools.js'

const run = promisify(execFile)
const dig = tool('dig', 'bind9-dnsutils')
const kdig = tool('kdig', 'knot-dnsutils')
const DEFAULT = readFileSync(new URL('../../scenarios/default.yaml', import.meta.url), 'utf8')

async function digAt(t: TestLab, args: string[]): Promise<string> {
  // dig says "Truncated, retrying in TCP mode" on stderr.
  const { stdout, stderr } = await run(
    dig.path!,
    ['@127.0.0.1', '-p', String(t.port('dns')), '+tries=1', '+time=3', ...args],
    {
      timeout: 15_000,
    },
  )
  return stderr + stdout
}
const short = async (t: TestLab, name: string, type: string, ...more: string[]): Promise<string[]> =>
  (await digAt(t, ['+short', name, type, ...more])).trim().split('\n').filter(Boolean)

describe.skipIf(dig.skip)('dig against the DNS double', () => {
  it('resolves every name a CX700 looks up in the default scenario (spec §2.2–2.6, §3, §6)', async () => {
    await using t = await startTestLab(DEFAULT)
    const expected: [string, string, string][] = [
      ['_sipinternaltls._tcp.contoso.test', 'SRV', '0 0 5061 ocspool.contoso.test.'],
      ['sip.contoso.test', 'A', '10.50.0.1'],
      ['_ntp._udp.contoso.test', 'SRV', '0 0 123 time.contoso.test.'],
      ['time.windows.com', 'A', '10.50.0.1'],
      ['_ldap._tcp.dc._msdcs.corp.contoso.test', 'SRV', '0 100 389 dc1.corp.contoso.test.'],
      ['autodiscover.contoso.test', 'A', '10.50.0.1'],
      ['contoso.test', 'A', '10.50.0.1'],
      ['ucupdates-r2.corp.contoso.test', 'A', '10.50.0.1'],
      ['ucupdates-r2.contoso.test', 'A', '10.50.0.1'],
      ['dc1.corp.contoso.test', 'A', '10.50.0.1'],
      ['ocspool.contoso.test', 'A', '10.50.0.1'],
      ['mail.contoso.test', 'A', '10.50.0.1'],
    ]
    for (const [name, type, value] of expected) expect(await short(t, name, type), name).toEqual([value])
    // The DC locator's suffix walk for CORP\alice (spec §2.4): the bare NetBIOS name is not a lab zone (a
    // site's server answers NXDOMAIN, not authoritative), CORP + option 15 does not exist, CORP + the second
    // option-119 suffix is the AD domain.
    const bare = await digAt(t, ['_ldap._tcp.dc._msdcs.corp', 'SRV'])
    expect(bare).toContain('status: NXDOMAIN')
    expect(bare).not.toMatch(/flags:[^;]* aa/)
    expect(await digAt(t, ['_ldap._tcp.dc._msdcs.corp.corp.contoso.test', 'SRV'])).toContain(
      'status: NXDOMAIN',
    )
    expect(await short(t, '_ldap._tcp.dc._msdcs.corp.contoso.test', 'SRV')).toEqual([
      '0 100 389 dc1.corp.contoso.test.',
    ])
    expect(await digAt(t, ['sip.contoso.test', 'AAAA'])).toMatch(/status: NOERROR.*\n.*ANSWER: 0/)
    const journal = t.lab.journal.query({ kind: 'dns:query' }).map((e) => e.detail.qname)
    expect(journal).toContain('_ldap._tcp.dc._msdcs.corp.corp.contoso.test')
  })

  it('over TCP, with EDNS echoed, and without EDNS: a large answer gets TC, then dig retries over TCP', async () => {
    const big = Array.from(
      { length: 60 },
      (_, i) => `      - { name: big.contoso.test, type: A, value: 10.0.2.${i} }`,
    )
    await using t = await startTestLab(
      MINIMAL_SCENARIO + `servers:\n  dns:\n    records:\n${big.join('\n')}\n`,
    )
    expect(await short(t, 'sip.contoso.test', 'A', '+tcp')).toEqual(['10.50.0.1'])
    expect(await digAt(t, ['+edns=0', 'sip.contoso.test'])).toMatch(/EDNS: version: 0, flags:; udp: 1232/)
    expect(await digAt(t, ['+noedns', 'sip.contoso.test'])).not.toMatch(/EDNS:/)
    const out = await digAt(t, ['+noedns', 'big.contoso.test', 'A'])
    expect(out).toContain('Truncated, retrying in TCP mode')
    expect(out).toMatch(/ANSWER: 60/)
    const transports = t.lab.journal
      .query({ kind: 'dns:query' })
      .filter((e) => e.detail.qname === 'big.contoso.test')
      .map((e) => [e.detail.transport, e.detail.tc])
    expect(transports).toEqual([
      ['udp', true],
      ['tcp', false],
    ])
  })

  it('serves a per-device view: dig from 127.0.0.2 sees what 127.0.0.1 does not', async () => {
    await using t = await startTestLab(
      MINIMAL_SCENARIO +
        `servers:
  dns:
    views:
      - match: { peer: 127.0.0.2 }
        remove: [{ name: _sipinternaltls._tcp.contoso.test }]
        records: [{ name: _sip._tls.contoso.test, type: SRV, value: 0 0 443 ocspool.contoso.test }]
`,
    )
    expect(await short(t, '_sipinternaltls._tcp.contoso.test', 'SRV')).toHaveLength(1)
    expect(await short(t, '_sipinternaltls._tcp.contoso.test', 'SRV', '-b', '127.0.0.2')).toEqual([])
    expect(await short(t, '_sip._tls.contoso.test', 'SRV', '-b', '127.0.0.2')).toEqual([
      '0 0 443 ocspool.contoso.test.',
    ])
    expect(await short(t, '_sip._tls.contoso.test', 'SRV')).toEqual([])
  })

  it('sends the SRV target uncompressed on the wire (RFC 2782), as dig receives it', async () => {
    await using t = await startTestLab()
    const raw = await udpExchange(
      t.port('dns'),
      encodeDns(dnsQuery('_sipinternaltls._tcp.contoso.test', DnsType.SRV)),
    )
    const hex = raw!.toString('hex')
    // priority 0, weight 0, port 5061, then "ocspool" "contoso" "test" spelled out and the root: no c0xx pointer.
    expect(hex).toContain('0000000013c5076f6373706f6f6c07636f6e746f736f047465737400')
    expect(await short(t, '_sipinternaltls._tcp.contoso.test', 'SRV')).toEqual([
      '0 0 5061 ocspool.contoso.test.',
    ])
  })
})

describe.skipIf(kdig.skip)('kdig against the DNS double', () => {
  it('gets the SIP SRV with EDNS, and NXDOMAIN with the SOA for a missing name', async () => {
    await using t = await startTestLab()
    const base = ['@127.0.0.1', '-p', String(t.port('dns')), '+retry=0', '+timeout=3']
    const srv = (await run(kdig.path!, [...base, '+edns', '_sipinternaltls._tcp.contoso.test', 'SRV'])).stdout
    expect(srv).toMatch(/status: NOERROR/)
    expect(srv).toMatch(/EDNS PSEUDOSECTION:\s*\n;; Version: 0; flags: ; UDP size: 1232 B/)
    expect(srv).toMatch(
      /_sipinternaltls\._tcp\.contoso\.test\.\s+300\s+IN\s+SRV\s+0 0 5061 ocspool\.contoso\.test\./,
    )
    const nx = (await run(kdig.path!, [...base, 'nothere.contoso.test', 'A'])).stdout
    expect(nx).toMatch(/status: NXDOMAIN/)
    expect(nx).toMatch(/AUTHORITY SECTION:\s*\ncontoso.test\.\s+300\s+IN\s+SOA/)
  })
})
