import type { LabServerDefinition } from '../contract.js'
import { askKerberos, classifyKerberos } from './events.js'
import { KERBEROS_FAULTS, KerberosSchema, type KerberosBlock } from './schema.js'
import { KerberosServer } from './server.js'

export { KerberosSchema, type KerberosBlock } from './schema.js'

export const kerberosDefinition: LabServerDefinition<typeof KerberosSchema, KerberosBlock> = {
  name: 'kerberos',
  schema: KerberosSchema,
  sockets: [
    { name: 'kerberos', transport: 'udp', standardPort: 88 },
    { name: 'kerberos-tcp', transport: 'tcp', standardPort: 88 },
  ],
  faults: KERBEROS_FAULTS,
  roles: ['dc'],
  slice: (block) => block,
  classify: classifyKerberos,
  ask: askKerberos,
  runtime: () => undefined,
  create: (block, listen, deps) => new KerberosServer(block, listen, deps),
}
