import { SipSchema } from './schema.js'
import type { LabServerDefinition } from '../contract.js'
import { askSip, classifySip } from './events.js'
import { SipServer, type SipSlice } from './server.js'
import { SIP_FAULTS } from './schema.js'
import { Registrar, sipRoutes } from './registrar.js'

export { SipSchema } from './schema.js'
export { type SipSlice } from './server.js'

export { Registrar } from './registrar.js'

export const sipDefinition: LabServerDefinition<typeof SipSchema, SipSlice, Registrar> = {
  name: 'sip',
  schema: SipSchema,
  sockets: [
    { name: 'sip', transport: 'tcp', standardPort: 5061 },
    { name: 'sip-tcp', transport: 'tcp', standardPort: 5060 },
    { name: 'sip-443', transport: 'tcp', standardPort: 443 },
  ],
  faults: SIP_FAULTS,
  roles: ['pool'],
  slice: (block, { site, hosts, users }) => ({
    block,
    site,
    users,
    pool: hosts.find((h) => h.roles.includes('pool'))?.name ?? `ocspool.${site.sipDomain}`,
  }),
  classify: classifySip,
  ask: askSip,
  runtime: ({ journal }) => new Registrar(journal),
  create: (config, listen, deps, registrar) => new SipServer(config, listen, deps, registrar),
  routes: (app, registrar) => sipRoutes(app, registrar),
}
