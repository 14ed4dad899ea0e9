import { Type } from '@sinclair/typebox'
import { StringEnum } from './schema/common.js'

/*
 * The site vocabulary every layer speaks: the network the lab is on, the site's domains (spec terminology:
 * SIP, SMTP, AD and DHCP domains), its users and its hosts with their roles. The schemas say how a scenario
 * writes them; the interfaces are what the lab derives from them (every default filled in).
 */

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
    dhcpDomain: Type.Optional({
      ...Hostname('The site’s DHCP domain, sent as option 15; defaults to adDomain.'),
      hint: 'a DNS name such as corp.contoso.test (to send no option 15 write servers.dhcp.domainName: "")',
    }),
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

/**
 * A user as every scenario writes it. The servers add fields of their own to each user (Exchange: the
 * mailbox), each declared by its server's definition (`userFields`) and typed in `UserFields`.
 */
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
    enterpriseVoice: Type.Boolean({
      default: true,
      description:
        'Enabled for Enterprise Voice (userProperties telephonyMode Uc; false: None). The phone uses EWS only for a user enabled for Enterprise Voice and for UM (spec §4.1, S29).',
    }),
    disabled: Type.Boolean({
      default: false,
      description:
        'The AD account is disabled (userAccountControl ACCOUNTDISABLE): a logon with the right password is refused (LDAP data 533, STATUS_ACCOUNT_DISABLED).',
    }),
    passwordExpired: Type.Boolean({
      default: false,
      description:
        'The password is past the domain’s maximum age: a logon with it is refused (LDAP data 532, STATUS_PASSWORD_EXPIRED).',
    }),
    ocsEnabled: Type.Boolean({
      default: true,
      description:
        'Enabled for Office Communications Server (msRTCSIP-UserEnabled): if not, the pool answers 404 (ms-diagnostics 4005) to the REGISTER.',
    }),
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

/** The site with every default derived (spec terminology: SIP, SMTP, AD and DHCP domains). */
export interface Site {
  readonly sipDomain: string
  readonly smtpDomain: string
  readonly adDomain: string
  readonly netbiosName: string
  readonly dhcpDomain: string
  readonly searchList: readonly string[]
  readonly subnet: string
  readonly labAddress: string
}

/** The account part of a user name as typed: `DOMAIN\\Alice` and `Alice@corp.test` are both `Alice`. */
export function accountPart(userName: string): string {
  return userName.includes('\\') ? userName.split('\\')[1]! : userName.split('@')[0]!
}

/** The sAMAccountName a user name denotes, as AD compares it (lower-cased): what the directory, the KDC
 * and IIS all go by. */
export function accountName(userName: string): string {
  return accountPart(userName).toLowerCase()
}

/** A user's userPrincipalName: the name as typed when it has a domain, else its account at the AD domain. */
export function userPrincipalName(userName: string, adDomain: string): string {
  return userName.includes('@') ? userName : `${accountPart(userName)}@${adDomain}`
}

/**
 * The fields servers add to every user, each typed where its server declares it, by declaration merging
 * (`declare module '../../core/site.js' { interface UserFields { … } }`, as Exchange's `mailbox`): the
 * foundation names no server's field, and a field read where it was not declared does not compile.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the servers (declaration merging)
export interface UserFields {}

export interface User extends UserFields {
  readonly signInAddress: string
  readonly password: string
  readonly userName: string
  readonly email: string
  readonly displayName: string
  readonly umEnabled: boolean
  readonly enterpriseVoice: boolean
  readonly disabled: boolean
  readonly passwordExpired: boolean
  readonly ocsEnabled: boolean
}

export interface Host {
  readonly name: string
  readonly roles: readonly HostRole[]
  readonly address: string
}

export interface Network {
  readonly mode: NetworkMode
  readonly address: string
  readonly interface?: string
  readonly portBase: number
}
