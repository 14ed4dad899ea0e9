import type { ServerDefinition } from '../../lab/server.js'
import { HttpRuntime, httpRoutes } from './runtime.js'
import { HttpServer, type HttpSlice } from './server.js'
import { HTTP_FAULTS } from './schema.js'

export { HttpSchema, type HttpConfig } from './schema.js'
export { HttpServer, type HttpSlice } from './server.js'
export { HttpRuntime } from './runtime.js'

export const httpDefinition: ServerDefinition<HttpSlice, HttpRuntime> = {
  name: 'http',
  sockets: [
    { name: 'http', transport: 'tcp', standardPort: 80 },
    { name: 'https', transport: 'tcp', standardPort: 443 },
  ],
  faults: HTTP_FAULTS,
  roles: ['ca', 'exchange', 'dus'],
  slice: (scenario) => ({
    block: scenario.servers.http,
    site: scenario.site,
    hosts: scenario.hosts,
    users: scenario.users,
  }),
  runtime: ({ journal }) => new HttpRuntime(journal),
  create: (config, listen, deps, runtime) => new HttpServer(config, listen, deps, runtime),
  routes: (app, runtime) => httpRoutes(app, runtime),
}
