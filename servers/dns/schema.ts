import { Type, type Static } from '@sinclair/typebox'
import { PeerSchema, StringEnum, serverBlock } from '../../core/schema/common.js'
import type { FaultCapabilities } from '../../core/faults/types.js'

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'NS', 'PTR', 'SRV', 'MX', 'TXT'] as const

const OwnerName = Type.String({
  pattern:
    '^(\\*\\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\\.?$',
  maxLength: 253,
  hint: 'a DNS name such as _sip._tls.contoso.test',
})

/** A record as a scenario or the admin API writes it: the data in zone-file form. */
export const DnsRecordInputSchema = Type.Object(
  {
    name: OwnerName,
    type: StringEnum(DNS_RECORD_TYPES),
    value: Type.String({
      minLength: 1,
      maxLength: 4000,
      description:
        'The data as in a zone file: A "10.50.0.5", SRV "0 100 5061 ocspool.contoso.test", CNAME/NS/PTR "host.contoso.test", MX "10 mail.contoso.test", TXT "any text".',
    }),
    ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647 })),
  },
  { additionalProperties: false },
)
export type DnsRecordInput = Static<typeof DnsRecordInputSchema>

export const DnsRemoveSchema = Type.Object(
  {
    name: OwnerName,
    type: Type.Optional(StringEnum(DNS_RECORD_TYPES, { description: 'Every type when absent.' })),
  },
  { additionalProperties: false },
)
export type DnsRemove = Static<typeof DnsRemoveSchema>

export const DnsViewSchema = Type.Object(
  {
    match: Type.Object(
      {
        device: Type.Optional(Type.String({ minLength: 1, description: 'A MAC, IP or user name.' })),
        peer: Type.Optional(PeerSchema),
      },
      { additionalProperties: false, minProperties: 1 },
    ),
    records: Type.Array(DnsRecordInputSchema, { default: [] }),
    remove: Type.Array(DnsRemoveSchema, { default: [] }),
  },
  {
    additionalProperties: false,
    description: 'What one device (or subnet) sees differently; the first view that matches wins.',
  },
)

/** The `servers.dns` block of a scenario. */
export const DnsSchema = serverBlock(
  {
    ttl: Type.Integer({
      minimum: 0,
      maximum: 2147483647,
      default: 300,
      description: 'TTL of derived records.',
    }),
    outOfZone: StringEnum(['refused', 'nxdomain'] as const, {
      default: 'nxdomain',
      description:
        'The answer for a name outside every lab zone: NXDOMAIN (not authoritative), as a site’s DNS server that recurses answers a name that exists nowhere — the first DC-locator query of every boot (_ldap._tcp.dc._msdcs.CORP) gets it; or REFUSED, as an authoritative-only server answers.',
    }),
    udpSize: Type.Integer({
      minimum: 512,
      maximum: 4096,
      default: 1232,
      description: 'The EDNS(0) UDP payload size the lab advertises and honours at most.',
    }),
    zones: Type.Array(Type.String({ format: 'hostname' }), {
      default: [],
      description:
        'More zones the lab is authoritative for (names in them that are not defined get NXDOMAIN).',
    }),
    records: Type.Array(DnsRecordInputSchema, {
      default: [],
      description:
        'Records added to the derived ones; a record replaces the derived records of its name and type.',
    }),
    remove: Type.Array(DnsRemoveSchema, {
      default: [],
      description:
        'Derived records to leave out, e.g. { name: _sipinternaltls._tcp.contoso.test, type: SRV }.',
    }),
    views: Type.Array(DnsViewSchema, { default: [] }),
    workers: Type.Integer({
      minimum: 0,
      maximum: 16,
      default: 0,
      description:
        'Threads that receive and send the UDP queries beside the main thread (SO_REUSEPORT on the same port; the answers and the journal stay on the main thread): a machine with cores to spare answers more queries a second. 0: none. A change applies when the DNS server binds its sockets, and on a running lab when it started with at least one.',
    }),
  },
  'DNS: every name a CX700 looks up, derived from the site (spec §2.2–2.6, §3, §6).',
)
export type DnsConfig = Static<typeof DnsSchema>

export const DNS_ERROR_CODES = ['FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const

export const DNS_FAULTS: FaultCapabilities = {
  kinds: ['drop', 'delay', 'reset', 'garbage', 'corrupt', 'truncate', 'error', 'answer'],
  errorCodes: DNS_ERROR_CODES,
  answerFields: {
    address: Type.String({ format: 'ipv4', hint: 'an IPv4 address (replaces every A answer)' }),
    target: Type.String({ format: 'hostname', hint: 'a DNS name (replaces SRV, CNAME and PTR targets)' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, hint: 'a port from 0 to 65535' }),
    priority: Type.Integer({ minimum: 0, maximum: 65535, hint: 'an SRV priority from 0 to 65535' }),
    weight: Type.Integer({ minimum: 0, maximum: 65535, hint: 'an SRV weight from 0 to 65535' }),
    ttl: Type.Integer({ minimum: 0, maximum: 2147483647, hint: 'a TTL in seconds' }),
    tc: Type.Boolean({ hint: 'true: answer with the TC bit and no records (the client retries over TCP)' }),
  },
  matchFields: ['qname', 'qtype', 'transport'],
}
