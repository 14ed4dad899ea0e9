import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox'
import type { FaultCapabilities } from '../core/faults/types.js'
import type { ServerDefinition } from '../core/server.js'
import type { LabServerDefinition } from './contract.js'
import { dhcpDefinition } from './dhcp/index.js'
import { dnsDefinition } from './dns/index.js'
import { httpDefinition } from './http/index.js'
import { kerberosDefinition } from './kerberos/index.js'
import { ldapDefinition } from './ldap/index.js'
import { netbiosDefinition } from './netbios/index.js'
import { ntpDefinition } from './ntp/index.js'
import { sipDefinition } from './sip/index.js'

/**
 * The server registry: one line per protocol folder, in the order the lab starts them. Everything else —
 * the `servers:` part of the scenario schema, the servers' configuration types, validation, the runtime and
 * the admin routes — is built by mapping over it (docs/architecture.md, "Adding a server").
 */
const REGISTRY = {
  dhcp: dhcpDefinition,
  dns: dnsDefinition,
  ntp: ntpDefinition,
  netbios: netbiosDefinition,
  kerberos: kerberosDefinition,
  ldap: ldapDefinition,
  http: httpDefinition,
  sip: sipDefinition,
}

type Registry = typeof REGISTRY
export type ServerName = keyof Registry
type Parts<K extends ServerName> =
  Registry[K] extends ServerDefinition<infer S, infer C, infer R, infer _D>
    ? { schema: S; slice: C; runtime: R }
    : never
/** A server's block in a scenario (`servers.<name>`), as its schema describes it with defaults filled in. */
export type BlockOf<K extends ServerName> = Static<Parts<K>['schema']>
/** A server's slice of a scenario. */
export type SliceOf<K extends ServerName> = Parts<K>['slice']
/** A server's per-lab state. */
export type RuntimeOf<K extends ServerName> = Parts<K>['runtime']
/** Every server's block: the `servers:` part of a scenario. */
export type ServersConfig = { readonly [K in ServerName]: BlockOf<K> }

/** The registry typed per name, so that `SERVER_DEFINITIONS[name]` keeps its server's types for a generic name. */
export type ServerDefinitions = {
  readonly [K in ServerName]: LabServerDefinition<Parts<K>['schema'], Parts<K>['slice'], Parts<K>['runtime']>
}
export const SERVER_DEFINITIONS: ServerDefinitions = REGISTRY

export const SERVER_NAMES = Object.keys(REGISTRY) as ServerName[]

/** What each server accepts of the fault vocabulary, by server name. */
export const SERVER_FAULTS: ReadonlyMap<string, FaultCapabilities> = new Map(
  SERVER_NAMES.map((n) => [n, SERVER_DEFINITIONS[n].faults]),
)

/** What the servers add to each user of a scenario (`users[]`): every registered server's `userFields`. */
export const USER_FIELDS: TProperties = Object.fromEntries(
  SERVER_NAMES.flatMap((n) => Object.entries(SERVER_DEFINITIONS[n].userFields ?? {})),
)

/** The `servers:` part of the scenario schema: each registered server's block, every one optional. */
export const ServersSchema = Type.Unsafe<ServersConfig>(
  Type.Object(
    Object.fromEntries(
      SERVER_NAMES.map((n) => {
        const schema: TObject = SERVER_DEFINITIONS[n].schema
        return [n, Type.Object(schema.properties, { ...schema, default: {} })]
      }),
    ),
    { additionalProperties: false, default: {} },
  ),
)
