import type { FaultRule } from '../faults/types.js'
import type { DhcpConfig } from '../../servers/dhcp/schema.js'
import type { DnsConfig } from '../../servers/dns/schema.js'
import type { HttpConfig } from '../../servers/http/schema.js'
import type { SipConfig } from '../../servers/sip/schema.js'
import type { LdapConfig } from '../../servers/ldap/schema.js'
import type { NtpConfig } from '../../servers/ntp/schema.js'
import type { HostRole, NetworkMode, ScenarioDocument } from './schema.js'

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

export interface User {
  readonly signInAddress: string
  readonly password: string
  readonly userName: string
  readonly email: string
  readonly displayName: string
  readonly umEnabled: boolean
  readonly mailbox: ScenarioDocument['users'][number]['mailbox']
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

export interface ServersConfig {
  readonly dhcp: DhcpConfig
  readonly dns: DnsConfig
  readonly ntp: NtpConfig
  readonly ldap: LdapConfig
  readonly http: HttpConfig
  readonly sip: SipConfig
}
export type ServerName = keyof ServersConfig

/** A validated, derived, deep-frozen scenario: what the lab runs. */
export interface Scenario {
  /** The file it was loaded from (or `<admin>` for one posted to the admin API). */
  readonly file: string
  /** Every file read, the scenario's own first, then what it extends. */
  readonly files: readonly string[]
  readonly name: string
  readonly description: string
  readonly seed: number
  readonly network: Network
  readonly site: Site
  readonly users: readonly User[]
  readonly hosts: readonly Host[]
  readonly pki: ScenarioDocument['pki']
  readonly servers: ServersConfig
  readonly faults: readonly FaultRule[]
  readonly expect: ScenarioDocument['expect']
}
