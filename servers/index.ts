import type { FaultCapabilities } from '../lab/faults/types.js'
import type { ServerName } from '../lab/scenario/model.js'
import type { ServerDefinition } from '../lab/server.js'
import { dhcpDefinition, type DhcpRuntime, type DhcpSlice } from './dhcp/index.js'
import { dnsDefinition, type DnsRuntime, type DnsSlice } from './dns/index.js'
import { httpDefinition, type HttpRuntime, type HttpSlice } from './http/index.js'
import { ldapDefinition, type LdapSlice } from './ldap/index.js'
import { ntpDefinition } from './ntp/index.js'
import { sipDefinition, type SipSlice } from './sip/index.js'
import type { NtpConfig } from './ntp/schema.js'

/** Each server's slice of a scenario and its per-lab state. */
export interface ServerTypes {
  dhcp: { config: DhcpSlice; runtime: DhcpRuntime }
  ntp: { config: NtpConfig; runtime: undefined }
  dns: { config: DnsSlice; runtime: DnsRuntime }
  ldap: { config: LdapSlice; runtime: undefined }
  http: { config: HttpSlice; runtime: HttpRuntime }
  sip: { config: SipSlice; runtime: undefined }
}

export type ServerDefinitions = {
  readonly [K in ServerName]: ServerDefinition<ServerTypes[K]['config'], ServerTypes[K]['runtime']>
}

/** One entry per protocol folder; the runtime builds and starts servers in this order. */
export const SERVER_DEFINITIONS: ServerDefinitions = {
  dhcp: dhcpDefinition,
  dns: dnsDefinition,
  ntp: ntpDefinition,
  ldap: ldapDefinition,
  http: httpDefinition,
  sip: sipDefinition,
}

export const SERVER_NAMES = Object.keys(SERVER_DEFINITIONS) as ServerName[]

/** What each server accepts of the fault vocabulary, by server name. */
export const SERVER_FAULTS: ReadonlyMap<string, FaultCapabilities> = new Map(
  SERVER_NAMES.map((n) => [n, SERVER_DEFINITIONS[n].faults]),
)
