import Fastify, { type FastifyInstance } from 'fastify'
import type { Lab } from '../runtime.js'
import type { TrainingSession } from '../training/session.js'
import { adminGuard } from './guard.js'
import { requestChecks } from './origin.js'
import { labValidation } from './http.js'
import { captureRoutes } from './routes/capture.js'
import { clockRoutes } from './routes/clock.js'
import { faultRoutes } from './routes/faults.js'
import { endpointRoutes, healthRoutes } from './routes/health.js'
import { journalRoutes } from './routes/journal.js'
import { pageRoutes } from './routes/pages.js'
import { phoneRoutes } from './routes/phones.js'
import { pkiRoutes } from './routes/pki.js'
import { scenarioRoutes } from './routes/scenario.js'
import { scriptRoutes } from './routes/script.js'
import { summaryRoutes } from './routes/summary.js'
import { timelineRoutes } from './routes/timeline.js'
import { traineeRoutes } from './routes/trainee.js'
import { trainingRoutes } from './routes/training.js'

export interface AdminAppOptions {
  /** The bearer token every admin route asks for; none on loopback. */
  readonly token: string | undefined
  /** A training session (cx700-lab train PACK): the trainer's /training routes and the trainees' pages. */
  readonly training?: TrainingSession | undefined
  /** Names the API is reached by besides IP literals, `localhost` and this machine's name (its listen host). */
  readonly names?: readonly string[]
}

/** The admin routes, each concern a plugin of the lab's; every one of them behind the gate. */
const ADMIN_ROUTES = [
  endpointRoutes,
  captureRoutes,
  pkiRoutes,
  scenarioRoutes,
  timelineRoutes,
  faultRoutes,
  journalRoutes,
  scriptRoutes,
  summaryRoutes,
] as const

/**
 * The admin API as a fastify app, not yet listening (tests `inject` into it). Three contexts, and where a
 * route is registered decides who may call it: the open one (/health and the pages, which carry no data),
 * the trainees' (each takes only its trainee's token), and the admin's, whose one onRequest hook is the
 * gate (lab/admin/guard.ts) — every other route, the servers' own (`lab.registerRoutes`) included.
 */
export async function adminApp(lab: Lab, options: AdminAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1024 * 1024 })
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser(
    // YAML only by its own types: text/plain (fastify's default parser, removed) is what a web page may
    // post to another origin without asking first.
    ['text/yaml', 'application/yaml', 'application/x-yaml'],
    { parseAs: 'string' },
    (_req, body, done) => done(null, body),
  )
  // Before any route, the pages and the trainees' included: only this lab's own pages and non-browser clients.
  app.addHook('onRequest', requestChecks(options.names ?? []))
  labValidation(app)
  await app.register(healthRoutes, { lab })
  await app.register(pageRoutes, { training: options.training !== undefined })
  await app.register(traineeRoutes, { lab, session: options.training })
  await app.register(async (admin) => {
    admin.addHook('onRequest', adminGuard(options.token))
    for (const routes of ADMIN_ROUTES) await admin.register(routes, { lab })
    await admin.register(clockRoutes, { clock: lab.clock })
    await admin.register(phoneRoutes, { commands: lab.phoneCommands })
    await admin.register(trainingRoutes, { session: options.training })
    lab.registerRoutes(admin)
  })
  return app
}
