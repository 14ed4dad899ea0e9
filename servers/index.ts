import type { FaultCapabilities } from '../lab/faults/types.js'
import type { ServerName, ServersConfig } from '../lab/scenario/model.js'
import type { ServerDefinition } from '../lab/server.js'
import { ntpDefinition } from './ntp/index.js'

/** One entry per protocol folder; the runtime builds and starts servers in this order. */
export const SERVER_DEFINITIONS: { readonly [K in ServerName]: ServerDefinition<ServersConfig[K]> } = {
  ntp: ntpDefinition,
}

export const SERVER_NAMES = Object.keys(SERVER_DEFINITIONS) as ServerName[]

/** What each server accepts of the fault vocabulary, by server name. */
export const SERVER_FAULTS: ReadonlyMap<string, FaultCapabilities> = new Map(
  SERVER_NAMES.map((n) => [n, SERVER_DEFINITIONS[n].faults]),
)
