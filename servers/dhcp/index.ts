import type { ServerDefinition } from '../../lab/server.js'
import { DhcpRuntime, DhcpServer, type DhcpSlice } from './server.js'
import { DHCP_FAULTS } from './schema.js'

export { decodeDhcp, encodeDhcp, encodeSearchList, decodeSearchList, type DhcpMessage } from './codec.js'
export { decideDhcp, LeaseTable } from './behaviour.js'
export { DhcpSchema, type DhcpConfig } from './schema.js'
export { DhcpRuntime, DhcpServer, type DhcpSlice } from './server.js'

export const dhcpDefinition: ServerDefinition<DhcpSlice, DhcpRuntime> = {
  name: 'dhcp',
  sockets: [{ name: 'dhcp', transport: 'udp', standardPort: 67 }],
  faults: DHCP_FAULTS,
  roles: [],
  slice: (scenario) => ({
    block: scenario.servers.dhcp,
    site: scenario.site,
    hosts: scenario.hosts,
    network: scenario.network,
  }),
  runtime: ({ stateDir }) => new DhcpRuntime(stateDir),
  create: (config, listen, deps, runtime) => new DhcpServer(config, listen, deps, runtime),
}
