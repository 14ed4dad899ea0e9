import type { ServerDefinition } from '../../lab/server.js'
import { DnsRuntime, dnsRoutes } from './runtime.js'
import { DnsServer } from './server.js'
import { DNS_FAULTS } from './schema.js'
import type { DnsSlice } from './zone.js'

export { decodeDns, encodeDns, takeDnsFrames, frameDns, type DnsMessage, type DnsRecord } from './codec.js'
export { resolveDns } from './behaviour.js'
export { DnsSchema, type DnsConfig } from './schema.js'
export { DnsRuntime } from './runtime.js'
export { DnsServer } from './server.js'
export type { DnsSlice } from './zone.js'

export const dnsDefinition: ServerDefinition<DnsSlice, DnsRuntime> = {
  name: 'dns',
  sockets: [
    { name: 'dns', transport: 'udp', standardPort: 53 },
    { name: 'dns-tcp', transport: 'tcp', standardPort: 53 },
  ],
  faults: DNS_FAULTS,
  roles: ['dc'],
  slice: (scenario) => ({ block: scenario.servers.dns, site: scenario.site, hosts: scenario.hosts }),
  runtime: ({ journal }) => new DnsRuntime(journal),
  create: (config, listen, deps, runtime) => new DnsServer(config, listen, deps, runtime),
  routes: (app, runtime) => dnsRoutes(app, runtime),
}
