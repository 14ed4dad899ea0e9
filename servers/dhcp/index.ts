import { DhcpSchema } from './schema.js'
import type { LabServerDefinition } from '../contract.js'
import { askDhcp, classifyDhcp } from './events.js'
import { checkDhcp } from './check.js'
import { DhcpRuntime, DhcpServer, type DhcpSlice } from './server.js'
import { DHCP_FAULTS } from './schema.js'

export { DhcpSchema } from './schema.js'
export { DhcpRuntime, type DhcpSlice } from './server.js'

export const dhcpDefinition: LabServerDefinition<typeof DhcpSchema, DhcpSlice, DhcpRuntime> = {
  name: 'dhcp',
  schema: DhcpSchema,
  sockets: [{ name: 'dhcp', transport: 'udp', standardPort: 67 }],
  faults: DHCP_FAULTS,
  roles: [],
  slice: (block, { site, hosts, network }) => ({ block, site, hosts, network }),
  classify: classifyDhcp,
  ask: askDhcp,
  runtime: ({ stateDir }) => new DhcpRuntime(stateDir),
  check: (block) => checkDhcp(block),
  create: (config, listen, deps, runtime) => new DhcpServer(config, listen, deps, runtime),
}
