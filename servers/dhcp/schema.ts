import { Type, type Static } from '@sinclair/typebox'
import { DurationSchema, StringEnum, serverBlock } from '../../core/schema/common.js'
import type { FaultCapabilities } from '../../core/faults/types.js'

const Ipv4 = Type.String({ format: 'ipv4' })
const Mac = Type.String({
  pattern: '^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$',
  hint: 'a MAC address such as 00:04:f2:12:34:56',
})

/** The `servers.dhcp` block of a scenario. */
export const DhcpSchema = serverBlock(
  {
    interface: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'The only link DHCP may answer on outside loopback mode. The lab refuses to serve DHCP if it can see any other non-loopback link (run it in a network namespace holding only this one).',
      }),
    ),
    pool: Type.Optional(
      Type.Object(
        { start: Ipv4, end: Ipv4 },
        {
          additionalProperties: false,
          description: 'Addresses to lease; defaults to .100–.199 of the site subnet.',
        },
      ),
    ),
    leaseTime: Type.String({
      ...DurationSchema,
      default: '1h',
      description: 'T1 is half of it, T2 seven eighths.',
    }),
    reservations: Type.Array(Type.Object({ mac: Mac, address: Ipv4 }, { additionalProperties: false }), {
      default: [],
    }),
    allow: Type.Array(Type.String({ minLength: 1 }), {
      default: ['00:04:f2'],
      description:
        'MACs or MAC prefixes answered (default: Polycom’s OUI 00:04:F2); reserved MACs are always allowed; "any" must be written to answer everyone.',
    }),
    router: Type.Optional({ ...Ipv4, aliases: ['option3', 'gateway'] }),
    dns: Type.Optional(
      Type.Array(Ipv4, { description: 'Option 6; defaults to the lab address.', aliases: ['option6'] }),
    ),
    ntp: Type.Array(Ipv4, {
      default: [],
      description: 'Option 42 (the CX700 does not use it; spec §2.1).',
      aliases: ['option42'],
    }),
    wins: Type.Array(Ipv4, {
      default: [],
      description: 'Option 44; with nodeType, option 46 (spec §2.1, F3).',
      aliases: ['option44'],
    }),
    nodeType: Type.Optional(Type.Integer({ minimum: 1, maximum: 8, aliases: ['option46'] })),
    domainName: Type.Optional(
      Type.String({
        format: 'hostname-or-empty',
        description: 'Option 15; defaults to site.dhcpDomain; "" leaves it out (F2).',
        hint: 'a DNS name such as corp.contoso.test, or "" to send no option 15',
        aliases: ['option15', 'domain', 'dhcpDomain'],
      }),
    ),
    searchList: Type.Optional(
      Type.Array(Type.String({ format: 'hostname' }), {
        description: 'Option 119; defaults to site.searchList; [] leaves it out.',
        aliases: ['option119', 'domainSearch', 'searchDomains'],
      }),
    ),
    searchListEncoding: StringEnum(['semicolon', 'rfc3397'] as const, {
      default: 'semicolon',
      description:
        'semicolon: the ASCII "a.com;b.com" string the deployment guide configures (spec §2.1, default); rfc3397: DNS labels with compression.',
    }),
    options: Type.Array(
      Type.Object(
        {
          code: Type.Integer({ minimum: 1, maximum: 254 }),
          hex: Type.Optional(
            Type.String({ pattern: '^([0-9A-Fa-f]{2})*$', hint: 'bytes as hex, e.g. 0a3200fe' }),
          ),
          text: Type.Optional(Type.String()),
        },
        {
          additionalProperties: false,
          description: 'Any option by code, as raw bytes (hex) or text; replaces the lab’s own.',
        },
      ),
      {
        default: [],
        hint: 'a list of options such as [{ code: 120, hex: 00036c6162 }] or [{ code: 252, text: http://wpad/ }]',
      },
    ),
    honourParameterList: Type.Boolean({
      default: true,
      description:
        'Send only the options the client lists in option 55 (plus 1, 51, 53, 54, 58, 59), as RFC 2132 §9.8 asks; false sends every option configured.',
    }),
    rogueCheck: Type.Boolean({
      default: true,
      description:
        'Outside loopback, send a DISCOVER before serving and refuse to start if another server answers.',
    }),
    clusterLinks: Type.Array(Type.String({ minLength: 1, maxLength: 15 }), {
      default: [],
      description:
        'Links beside the phones’ one that carry no phones and no broadcast domain: a Kubernetes pod’s cluster network (eth0), which a NetworkPolicy keeps DHCP off. DHCP still refuses to start when any other link is there.',
    }),
    rogueWaitMs: Type.Integer({
      minimum: 100,
      maximum: 30_000,
      default: 4000,
      description:
        'How long the rogue check listens: servers ping an address before offering it (dnsmasq answers after about 3 s).',
    }),
  },
  'DHCPv4: the phone’s address and its DNS suffixes (options 15 and 119; spec §2.1, F1, F2).',
)
export type DhcpConfig = Static<typeof DhcpSchema>

export const DHCP_FAULTS: FaultCapabilities = {
  kinds: ['drop', 'delay', 'garbage', 'corrupt', 'truncate', 'error', 'answer'],
  errorCodes: ['NAK'],
  answerFields: {
    domainName: Type.String({ hint: 'option 15 text; "" leaves it out' }),
    searchList: Type.String({ hint: 'option 119 as "a.test;b.test"; "" leaves it out' }),
    dns: Type.String({ hint: 'option 6 as "10.0.0.1,10.0.0.2"; "" leaves it out' }),
    router: Type.String({ hint: 'option 3; "" leaves it out' }),
    leaseSeconds: Type.Integer({ minimum: 0, maximum: 0xffffffff, hint: 'a lease time in seconds' }),
    yiaddr: Type.String({ format: 'ipv4', hint: 'an IPv4 address to offer instead' }),
  },
  matchFields: ['messageType', 'vendorClass', 'xid'],
}
