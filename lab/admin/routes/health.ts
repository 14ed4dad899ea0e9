import type { FastifyPluginAsync } from 'fastify'
import type { Lab } from '../../runtime.js'

/** `GET /health`: open to anyone who reaches the port (a load balancer, a liveness probe); 503 when not ok. */
export const healthRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  app.get('/health', async (_req, reply) => {
    const h = lab.health()
    return reply.code(h.ok ? 200 : 503).send(h)
  })
}

/** What the lab is and where: its endpoints, state directory, scenario file, and the devices seen. */
export const endpointRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  app.get('/endpoints', async () => ({
    scenario: lab.scenario.name,
    mode: lab.network.mode,
    endpoints: lab.endpoints(),
    // Where this lab keeps its CA and its emulated phones' state (cx700-lab phone keeps phones beside it).
    stateDir: lab.stateDir,
    scenarioFile: lab.scenario.file,
    siteAddresses: lab.siteAddresses(),
  }))
  app.get('/devices', async () => ({ devices: lab.journal.devices.list() }))
}
