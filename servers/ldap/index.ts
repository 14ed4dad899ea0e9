import type { ServerDefinition } from '../../lab/server.js'
import { LdapServer, type LdapSlice } from './server.js'
import { LDAP_FAULTS } from './schema.js'

export { decodeLdapMessage, filterText, takeLdapFrames, type LdapMessage, type LdapFilter } from './codec.js'
export { bind, matches, search } from './behaviour.js'
export { buildDirectory, type Directory } from './directory.js'
export { LdapSchema, type LdapConfig } from './schema.js'
export { LdapServer, type LdapSlice } from './server.js'

export const ldapDefinition: ServerDefinition<LdapSlice> = {
  name: 'ldap',
  sockets: [
    { name: 'ldap', transport: 'tcp', standardPort: 389 },
    { name: 'ldap-gc', transport: 'tcp', standardPort: 3268 },
  ],
  faults: LDAP_FAULTS,
  roles: ['dc'],
  slice: (scenario) => ({
    block: scenario.servers.ldap,
    site: scenario.site,
    hosts: scenario.hosts,
    users: scenario.users,
  }),
  runtime: () => undefined,
  create: (config, listen, deps) => new LdapServer(config, listen, deps),
}
