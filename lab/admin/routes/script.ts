import type { FastifyPluginAsync } from 'fastify'
import type { Lab } from '../../runtime.js'

const VERBS = ['pause', 'resume', 'skip', 'restart'] as const

/** The scenario's script: how many steps, which fired when, which is next; pause, resume, skip, restart. */
export const scriptRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  app.get('/script', async () => ({ script: lab.script?.status() ?? { steps: 0, fired: [], paused: false } }))
  for (const verb of VERBS)
    app.post(`/script/${verb}`, async (_req, reply) => {
      const script = lab.script
      if (!script) return reply.code(404).send({ error: 'the scenario has no script', problems: [] })
      script[verb]()
      return { script: script.status() }
    })
}
