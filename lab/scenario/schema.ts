import { Type, type Static } from '@sinclair/typebox'
import { FaultRuleSchema } from '../faults/types.js'
import { PkiSchema } from '../../certs/schema.js'
import { DhcpSchema } from '../../servers/dhcp/schema.js'
import { DnsSchema } from '../../servers/dns/schema.js'
import { HttpSchema } from '../../servers/http/schema.js'
import { SipSchema } from '../../servers/sip/schema.js'
import { LdapSchema } from '../../servers/ldap/schema.js'
import { NtpSchema } from '../../servers/ntp/schema.js'
import { StringEnum } from './common.js'

const Hostname = (description?: string) =>
  Type.String({
    format: 'hostname',
    hint: 'a DNS name such as contoso.test',
    ...(description ? { description } : {}),
  })

export const NETWORK_MODES = ['loopback', 'netns', 'interface'] as const
export type NetworkMode = (typeof NETWORK_MODES)[number]

export const NetworkSchema = Type.Object(
  {
    mode: StringEnum(NETWORK_MODES, {
      default: 'loopback',
      description:
        'loopback: 127.0.0.1, unprivileged ports (standard port + portBase), no root. netns: standard ports on every address of a network namespace the lab runs in. interface: standard ports on a named NIC, for real phones.',
    }),
    address: Type.Optional(
      Type.String({ format: 'ipv4', description: 'Bind address (loopback: 127.0.0.1; netns: 0.0.0.0).' }),
    ),
    interface: Type.Optional(
      Type.String({ minLength: 1, description: 'The NIC in interface mode, e.g. eth1.' }),
    ),
    portBase: Type.Integer({
      minimum: 1024,
      maximum: 60000,
      default: 10000,
      description: 'In loopback mode, standard port N listens on portBase + N (NTP 123 → 10123).',
    }),
  },
  { additionalProperties: false, default: {} },
)

export const SiteSchema = Type.Object(
  {
    sipDomain: Hostname('The right-hand side of every sign-in address (spec: SIP domain).'),
    smtpDomain: Type.Optional(Hostname('Domain of the primary e-mail addresses; defaults to sipDomain.')),
    adDomain: Type.Optional(Hostname('Active Directory DNS domain; defaults to sipDomain.')),
    netbiosName: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9-]{1,15}$', hint: '1–15 letters, digits or hyphens, e.g. CONTOSO' }),
    ),
    dhcpDomain: Type.Optional(Hostname('DHCP option 15; defaults to adDomain.')),
    searchList: Type.Optional(
      Type.Array(Hostname(), {
        description: 'DHCP option 119 suffixes, in order; defaults to [dhcpDomain].',
      }),
    ),
    subnet: Type.String({
      format: 'cidr',
      default: '10.50.0.0/24',
      hint: 'an IPv4 CIDR block such as 10.50.0.0/24',
    }),
    labAddress: Type.Optional(
      Type.String({
        format: 'ipv4',
        description: 'The lab host on the phone network; defaults to the first host of the subnet.',
      }),
    ),
  },
  { additionalProperties: false },
)

const ContactSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    phone: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)
const IsoTime = (): ReturnType<typeof Type.String> =>
  Type.String({
    format: 'date-time',
    description: 'When it arrived (ISO 8601); defaults to hours before the lab started, newest first.',
    hint: 'an ISO 8601 time such as 2026-11-25T09:30:00Z',
  })
const VoicemailSchema = Type.Object(
  {
    from: Type.String({ minLength: 1, description: 'The caller’s name.' }),
    phone: Type.Optional(Type.String({ description: 'The caller’s number (caller ID).' })),
    subject: Type.Optional(Type.String()),
    durationSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
    unread: Type.Boolean({ default: true }),
    at: Type.Optional(IsoTime()),
    audio: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A WAV file (relative to the scenario file) served as the message’s audio attachment; without it the lab generates a tone of durationSeconds.',
      }),
    ),
  },
  { additionalProperties: false },
)
const MissedCallSchema = Type.Object(
  {
    from: Type.String({ minLength: 1 }),
    phone: Type.Optional(Type.String({ description: 'The caller’s number (caller ID).' })),
    at: Type.Optional(IsoTime()),
    unread: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
)

export const UserSchema = Type.Object(
  {
    signInAddress: Type.String({
      pattern: '^[^@\\s]+@[^@\\s]+$',
      hint: 'a sign-in address such as alice@contoso.test',
    }),
    password: Type.String({ minLength: 1 }),
    userName: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'DOMAIN\\user or user@domain; defaults to NETBIOS\\local-part.',
      }),
    ),
    email: Type.Optional(
      Type.String({
        pattern: '^[^@\\s]+@[^@\\s]+$',
        description: 'Primary e-mail; defaults to local-part@smtpDomain.',
      }),
    ),
    displayName: Type.Optional(Type.String()),
    umEnabled: Type.Boolean({
      default: true,
      description: 'Unified Messaging: the phone reads voice mail over EWS.',
    }),
    mailbox: Type.Object(
      {
        contacts: Type.Array(ContactSchema, { default: [] }),
        voicemail: Type.Array(VoicemailSchema, { default: [] }),
        missedCalls: Type.Array(MissedCallSchema, { default: [] }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
)

export const HOST_ROLES = ['dc', 'ca', 'pool', 'exchange', 'dus', 'ntp', 'abs'] as const
export type HostRole = (typeof HOST_ROLES)[number]

export const HostSchema = Type.Object(
  {
    name: Hostname(),
    roles: Type.Array(StringEnum(HOST_ROLES), { minItems: 1, uniqueItems: true }),
    address: Type.Optional(Type.String({ format: 'ipv4' })),
  },
  { additionalProperties: false },
)

/** Which journal events a rule means: by server, kind, and a piece of the summary. */
export const JournalMatchSchema = Type.Object(
  {
    server: Type.Optional(Type.String({ minLength: 1 })),
    kind: Type.Optional(Type.String({ minLength: 1 })),
    contains: Type.Optional(Type.String({ minLength: 1, description: 'A piece of the event’s summary.' })),
  },
  { additionalProperties: false, minProperties: 1 },
)
export const JournalRuleSchema = Type.Union([
  Type.Object(
    {
      order: Type.Array(JournalMatchSchema, {
        minItems: 2,
        description: 'Each happens, and the first of each comes after the first of the one before.',
      }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      none: JournalMatchSchema,
      before: Type.Optional(JournalMatchSchema),
    },
    { additionalProperties: false, description: 'No such event (before the first `before` event).' },
  ),
  Type.Object({ some: JournalMatchSchema }, { additionalProperties: false }),
])

export const ExpectSchema = Type.Object(
  {
    endState: Type.Optional(
      Type.String({ minLength: 1, description: 'Where an emulated phone must end up, e.g. signed-in.' }),
    ),
    status: Type.Optional(
      Type.Array(Type.String(), { description: 'Status lines the phone must show, in order.' }),
    ),
    journal: Type.Array(JournalRuleSchema, {
      default: [],
      description:
        'What the lab must see while the emulated phone runs, across protocols, e.g. { order: [{ server: dns, contains: _sipinternaltls._tcp }, { server: dns, contains: _sip._tls }] }.',
    }),
  },
  { additionalProperties: false, default: {} },
)

export const ServersSchema = Type.Object(
  {
    dhcp: Type.Object(DhcpSchema.properties, { ...DhcpSchema, default: {} }),
    dns: Type.Object(DnsSchema.properties, { ...DnsSchema, default: {} }),
    ntp: Type.Object(NtpSchema.properties, { ...NtpSchema, default: {} }),
    ldap: Type.Object(LdapSchema.properties, { ...LdapSchema, default: {} }),
    http: Type.Object(HttpSchema.properties, { ...HttpSchema, default: {} }),
    sip: Type.Object(SipSchema.properties, { ...SipSchema, default: {} }),
  },
  { additionalProperties: false, default: {} },
)

export const ScenarioSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Literal(1, { default: 1 }),
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', hint: 'kebab-case, e.g. ntp-three-years-ahead' }),
    description: Type.String({ default: '' }),
    extends: Type.Optional(
      Type.String({ minLength: 1, description: 'Path of a scenario this one overrides.' }),
    ),
    seed: Type.Integer({
      minimum: 0,
      maximum: 4294967295,
      default: 1,
      description: 'Seeds every probabilistic fault.',
    }),
    network: NetworkSchema,
    site: SiteSchema,
    users: Type.Array(UserSchema, { default: [] }),
    hosts: Type.Optional(Type.Array(HostSchema, { description: 'Derived from the site when absent.' })),
    pki: PkiSchema,
    servers: ServersSchema,
    faults: Type.Array(FaultRuleSchema, { default: [] }),
    expect: ExpectSchema,
  },
  {
    additionalProperties: false,
    $id: 'https://cx700-lab.test/scenario.schema.json',
    title: 'cx700-lab scenario',
  },
)

/** A scenario as the schema sees it once defaults are filled in. */
export type ScenarioDocument = Static<typeof ScenarioSchema>
export type SiteDocument = Static<typeof SiteSchema>
export type UserDocument = Static<typeof UserSchema>
export type HostDocument = Static<typeof HostSchema>
