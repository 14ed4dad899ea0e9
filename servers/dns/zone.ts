import { LabError } from '../../core/errors.js'
import type { Host, Site } from '../../core/site.js'
import { DNS_CLASS_IN, nameLabels, type DnsRecord } from './codec.js'
import type { DnsConfig, DnsRecordInput, DnsRemove } from './schema.js'

/**
 * The lab's zones, pure: the records a CX700 needs, derived from the scenario's site and hosts (spec §2.2–2.6,
 * §3, §6), plus what the scenario, a per-device view or the admin API adds and removes.
 */

/** What the DNS server gets of a scenario. */
export interface DnsSlice {
  readonly block: DnsConfig
  readonly site: Site
  readonly hosts: readonly Host[]
}

export const lower = (name: string): string => name.toLowerCase().replace(/\.$/, '')

/** Parses zone-file style data into a record; throws LAB_ERR_DNS_RECORD naming what is wrong. */
export function parseRecord(input: DnsRecordInput, defaultTtl: number): DnsRecord {
  const bad = (why: string): never => {
    throw new LabError(
      'LAB_ERR_DNS_RECORD',
      `Failed to read the ${input.type} record of ${input.name}: ${why}.`,
    )
  }
  const name = lower(input.name)
  const base = { name, class: DNS_CLASS_IN, ttl: input.ttl ?? defaultTtl }
  const value = input.value.trim()
  const hostname = (text: string | undefined, what: string): string => {
    if (text === undefined || text === '') return bad(`${what} is missing`)
    try {
      nameLabels(text)
    } catch (err) {
      bad(`${what} ${(err as Error).message}`)
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(text)) bad(`${what} "${text}" is not a DNS name`)
    return lower(text)
  }
  const u16 = (text: string | undefined, what: string): number => {
    const n = Number(text)
    if (text === undefined || !/^\d+$/.test(text) || n > 65535) bad(`${what} "${text ?? ''}" must be 0–65535`)
    return n
  }
  switch (input.type) {
    case 'A': {
      const parts = value.split('.')
      if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
        bad(`"${value}" is not an IPv4 address`)
      return { ...base, type: 'A', address: parts.map(Number).join('.') }
    }
    case 'AAAA':
      if (!/^[0-9a-f:]+$/i.test(value) || !value.includes(':')) bad(`"${value}" is not an IPv6 address`)
      return { ...base, type: 'AAAA', address: value.toLowerCase() }
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return { ...base, type: input.type, target: hostname(value, 'the target') }
    case 'SRV': {
      const f = value.split(/\s+/)
      if (f.length !== 4) bad(`"${value}" must be "priority weight port target"`)
      return {
        ...base,
        type: 'SRV',
        priority: u16(f[0], 'priority'),
        weight: u16(f[1], 'weight'),
        port: u16(f[2], 'port'),
        target: hostname(f[3], 'the target'),
      }
    }
    case 'MX': {
      const f = value.split(/\s+/)
      if (f.length !== 2) bad(`"${value}" must be "preference exchange"`)
      return {
        ...base,
        type: 'MX',
        preference: u16(f[0], 'preference'),
        exchange: hostname(f[1], 'the exchange'),
      }
    }
    case 'TXT':
      return { ...base, type: 'TXT', texts: [input.value] }
  }
}

function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`
}

/** The reverse zone that covers a subnet, on an octet boundary (10.50.0.0/24 → 0.50.10.in-addr.arpa). */
export function reverseZone(cidr: string): string {
  const [base, bits] = cidr.split('/')
  const octets = Math.max(1, Math.floor(Number(bits) / 8))
  return `${(base ?? '0.0.0.0').split('.').slice(0, octets).reverse().join('.')}.in-addr.arpa`
}

function firstWith(hosts: readonly Host[], role: Host['roles'][number]): Host | undefined {
  return hosts.find((h) => h.roles.includes(role))
}

/**
 * The records a CX700 looks up, for a site as a default OCS 2007 R2 / Exchange 2007 / AD deployment would
 * register them. Spec references: SIP §2.6, NTP §2.3, DC locator §2.4, Kerberos §10.13 (GUESS), Autodiscover
 * §3.1 (SMTP and SIP domain, bare SMTP domain), DUS §6.1 (DHCP and SIP domain).
 */
export function deriveRecords(site: Site, hosts: readonly Host[], ttl: number): DnsRecord[] {
  const out: DnsRecord[] = []
  const base = { class: DNS_CLASS_IN, ttl }
  const a = (name: string, address: string): void => {
    out.push({ ...base, name: lower(name), type: 'A', address })
  }
  const srv = (name: string, port: number, target: Host, weight = 0): void => {
    out.push({ ...base, name: lower(name), type: 'SRV', priority: 0, weight, port, target: target.name })
  }
  for (const h of hosts) {
    a(h.name, h.address)
    out.push({ ...base, name: reverseName(h.address), type: 'PTR', target: h.name })
  }
  const pool = firstWith(hosts, 'pool')
  if (pool) {
    srv(`_sipinternaltls._tcp.${site.sipDomain}`, 5061, pool)
    a(`sip.${site.sipDomain}`, pool.address)
  }
  const ntp = firstWith(hosts, 'ntp')
  if (ntp) {
    srv(`_ntp._udp.${site.sipDomain}`, 123, ntp)
    a('time.windows.com', ntp.address)
  }
  const dc = firstWith(hosts, 'dc')
  if (dc) {
    srv(`_ldap._tcp.dc._msdcs.${site.adDomain}`, 389, dc, 100)
    srv(`_ldap._tcp.${site.adDomain}`, 389, dc, 100)
    srv(`_gc._tcp.${site.adDomain}`, 3268, dc, 100)
    srv(`_kerberos._tcp.dc._msdcs.${site.adDomain}`, 88, dc, 100)
    srv(`_kerberos._tcp.${site.adDomain}`, 88, dc, 100)
    srv(`_kerberos._udp.${site.adDomain}`, 88, dc, 100)
  }
  const exchange = firstWith(hosts, 'exchange')
  if (exchange) {
    a(`autodiscover.${site.smtpDomain}`, exchange.address)
    if (site.sipDomain !== site.smtpDomain) a(`autodiscover.${site.sipDomain}`, exchange.address)
    a(site.smtpDomain, exchange.address)
  }
  const dus = firstWith(hosts, 'dus')
  if (dus) {
    a(`ucupdates-r2.${site.dhcpDomain}`, dus.address)
    if (site.sipDomain !== site.dhcpDomain) a(`ucupdates-r2.${site.sipDomain}`, dus.address)
  }
  // One record per name, type and data: the same A can be derived twice (the bare SMTP domain is a host).
  const seen = new Set<string>()
  return out.filter((r) => {
    const key = `${r.name}|${r.type}|${JSON.stringify(r)}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** Every zone the lab is authoritative for: the site's domains, the search list, time.windows.com, the reverse zone, and `zones`. */
export function deriveZones(site: Site, hosts: readonly Host[], extra: readonly string[]): string[] {
  const zones = new Set<string>(
    [site.sipDomain, site.smtpDomain, site.adDomain, site.dhcpDomain, ...site.searchList, ...extra].map(
      lower,
    ),
  )
  if (hosts.some((h) => h.roles.includes('ntp'))) zones.add('time.windows.com')
  zones.add(reverseZone(site.subnet))
  for (const h of hosts) if (!hostInZones(lower(h.name), zones)) zones.add(lower(h.name))
  return [...zones]
}

function hostInZones(name: string, zones: ReadonlySet<string>): boolean {
  for (const z of zones) if (name === z || name.endsWith(`.${z}`)) return true
  return false
}

/** Applies removals then additions: an added record replaces the records of its name and type. */
export function applyChanges(
  records: readonly DnsRecord[],
  remove: readonly DnsRemove[],
  add: readonly DnsRecord[],
): DnsRecord[] {
  const gone = (r: DnsRecord): boolean =>
    remove.some((x) => lower(x.name) === r.name && (x.type === undefined || x.type === r.type))
  const replaced = new Set(add.map((r) => `${r.name}|${r.type}`))
  return [...records.filter((r) => !gone(r) && !replaced.has(`${r.name}|${r.type}`)), ...add]
}

/** Records indexed for lookups, with the zones and the names that exist only as parents of others. */
export interface ZoneData {
  readonly byName: ReadonlyMap<string, readonly DnsRecord[]>
  /** Lower-cased apexes, longest first (the most specific zone wins). */
  readonly zones: readonly string[]
  /** Empty non-terminals: names with no records of their own but with records below them (NODATA, not NXDOMAIN). */
  readonly parents: ReadonlySet<string>
  readonly hostname: string
  readonly admin: string
  readonly ttl: number
}

export function indexZone(
  records: readonly DnsRecord[],
  zones: readonly string[],
  soa: { hostname: string; admin: string; ttl: number },
): ZoneData {
  const byName = new Map<string, DnsRecord[]>()
  const parents = new Set<string>()
  for (const r of records) {
    const list = byName.get(r.name)
    if (list) list.push(r)
    else byName.set(r.name, [r])
    const labels = r.name.split('.')
    for (let i = 1; i < labels.length; i++) parents.add(labels.slice(i).join('.'))
  }
  return {
    byName,
    zones: [...zones].sort((x, y) => y.length - x.length),
    parents,
    ...soa,
  }
}

/**
 * The records a slice serves: derived from the site, the scenario's removals and additions, a view's (when
 * one is given), then `layer` — the runtime changes (`DnsRuntime.applyTo`).
 */
export function sliceRecords(
  slice: DnsSlice,
  layer: (records: DnsRecord[]) => DnsRecord[],
  view?: { readonly records: readonly DnsRecordInput[]; readonly remove: readonly DnsRemove[] },
): DnsRecord[] {
  const { block, site, hosts } = slice
  const parse = (list: readonly DnsRecordInput[]): DnsRecord[] => list.map((r) => parseRecord(r, block.ttl))
  const scenario = applyChanges(deriveRecords(site, hosts, block.ttl), block.remove, parse(block.records))
  return layer(view ? applyChanges(scenario, view.remove, parse(view.records)) : scenario)
}

/** Indexes a slice's records for lookups: its zones (and the apex of every name outside them), its SOA. */
export function zoneIndexer(slice: DnsSlice): (records: readonly DnsRecord[]) => ZoneData {
  const { block, site, hosts } = slice
  const zones = deriveZones(site, hosts, block.zones)
  const dc = hosts.find((h) => h.roles.includes('dc'))
  const soa = {
    hostname: lower(dc?.name ?? `ns.${site.adDomain}`),
    admin: `hostmaster.${site.adDomain}`,
    ttl: block.ttl,
  }
  return (records) => {
    const own = records.filter((r) => !zones.some((z) => r.name === z || r.name.endsWith(`.${z}`)))
    return indexZone([...records], [...zones, ...own.map((r) => r.name)], soa)
  }
}
