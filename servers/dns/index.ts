import { DnsSchema } from './schema.js'
import type { LabServerDefinition } from '../contract.js'
import { askDns, classifyDns } from './events.js'
import { DnsRuntime, dnsRoutes } from './runtime.js'
import { DnsServer } from './server.js'
import { checkDns } from './check.js'
import { DNS_FAULTS } from './schema.js'
import type { DnsSlice } from './zone.js'

export { DnsSchema } from './schema.js'
export { DnsRuntime } from './runtime.js'

export type { DnsSlice } from './zone.js'

export const dnsDefinition: LabServerDefinition<typeof DnsSchema, DnsSlice, DnsRuntime> = {
  name: 'dns',
  schema: DnsSchema,
  sockets: [
    { name: 'dns', transport: 'udp', standardPort: 53 },
    { name: 'dns-tcp', transport: 'tcp', standardPort: 53 },
  ],
  faults: DNS_FAULTS,
  roles: ['dc'],
  slice: (block, { site, hosts }) => ({ block, site, hosts }),
  classify: classifyDns,
  ask: askDns,
  runtime: ({ journal }) => new DnsRuntime(journal),
  check: (block) => checkDns(block),
  create: (config, listen, deps, runtime) => new DnsServer(config, listen, deps, runtime),
  routes: (app, runtime) => dnsRoutes(app, runtime),
}
export { lookupIn, type Lookup } from './lookup.js'
