import { HttpSchema } from './schema.js'
import type { LabServerDefinition } from '../contract.js'
import { askHttp, classifyHttp } from './events.js'
import { HttpRuntime, httpRoutes } from './runtime.js'
import { HttpServer, type HttpSlice } from './server.js'
import { HTTP_FAULTS, HTTP_USER_FIELDS } from './schema.js'
import { checkHttp } from './check.js'

export { HttpSchema } from './schema.js'
export { type HttpSlice } from './server.js'
export { HttpRuntime } from './runtime.js'

export const httpDefinition: LabServerDefinition<typeof HttpSchema, HttpSlice, HttpRuntime> = {
  name: 'http',
  schema: HttpSchema,
  userFields: HTTP_USER_FIELDS,
  sockets: [
    { name: 'http', transport: 'tcp', standardPort: 80 },
    { name: 'https', transport: 'tcp', standardPort: 443 },
  ],
  faults: HTTP_FAULTS,
  roles: ['ca', 'exchange', 'dus'],
  slice: (block, { site, hosts, users }) => ({ block, site, hosts, users }),
  // The Autodiscover names (spec §3.1), as answerOn serves them; the lab's certificates carry them too.
  names: (block, { site }) => [
    ...(block.autodiscover.answerOn.includes('autodiscover-host')
      ? [...new Set([`autodiscover.${site.smtpDomain}`, `autodiscover.${site.sipDomain}`])]
      : []),
    ...(block.autodiscover.answerOn.includes('smtp-domain') ? [site.smtpDomain] : []),
  ],
  classify: classifyHttp,
  ask: askHttp,
  runtime: ({ journal }) => new HttpRuntime(journal),
  check: (block, scenario) => checkHttp(block, scenario),
  create: (config, listen, deps, runtime) => new HttpServer(config, listen, deps, runtime),
  routes: (app, runtime) => httpRoutes(app, runtime),
}
