import type { FastifyInstance } from 'fastify'
import type { LabServerDefinition } from '../contract.js'
import { Registrations, scenarioNames } from './behaviour.js'
import { askNetbios, classifyNetbios } from './events.js'
import { NETBIOS_FAULTS, NetbiosSchema } from './schema.js'
import { NetbiosServer, type NetbiosSlice } from './server.js'

export { NetbiosSchema } from './schema.js'

export const netbiosDefinition: LabServerDefinition<typeof NetbiosSchema, NetbiosSlice, Registrations> = {
  name: 'netbios',
  schema: NetbiosSchema,
  sockets: [{ name: 'netbios', transport: 'udp', standardPort: 137 }],
  faults: NETBIOS_FAULTS,
  roles: ['dc'],
  slice: (block, { site, hosts }) => ({ block, names: scenarioNames(site, hosts) }),
  classify: classifyNetbios,
  ask: askNetbios,
  // Registrations outlive a reload, as a WINS database outlives a configuration change.
  runtime: () => new Registrations(),
  create: (slice, listen, deps, registrations) => new NetbiosServer(slice, listen, deps, registrations),
  routes: (app: FastifyInstance, registrations) => {
    app.get('/netbios/registrations', async () => ({ registrations: registrations.list() }))
  },
}
