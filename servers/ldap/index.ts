import { LdapSchema } from './schema.js'
import type { LabServerDefinition } from '../contract.js'
import { askLdap, classifyLdap } from './events.js'
import { LdapServer, type LdapSlice } from './server.js'
import { LDAP_FAULTS } from './schema.js'

export { LdapSchema } from './schema.js'
export { type LdapSlice } from './server.js'

export const ldapDefinition: LabServerDefinition<typeof LdapSchema, LdapSlice> = {
  name: 'ldap',
  schema: LdapSchema,
  sockets: [
    { name: 'ldap', transport: 'tcp', standardPort: 389 },
    { name: 'ldap-gc', transport: 'tcp', standardPort: 3268 },
  ],
  faults: LDAP_FAULTS,
  roles: ['dc'],
  slice: (block, { site, hosts, users }) => ({ block, site, hosts, users }),
  classify: classifyLdap,
  ask: askLdap,
  runtime: () => undefined,
  create: (config, listen, deps) => new LdapServer(config, listen, deps),
}
export { directoryOf } from './slice.js'
export type { DirEntry } from './directory.js'
