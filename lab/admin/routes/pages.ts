import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { packageRoot } from '../../paths.js'
import { dashboardPage } from '../dashboard.js'
import { traineePage } from '../training.js'

/** Where `npm run build` puts the pages' scripts (lab/admin/browser/, compiled for the browser). */
const ASSETS = join(packageRoot(), 'dist', 'lab', 'admin', 'browser')
const Asset = Type.Object({
  file: Type.String({ pattern: '^[a-z-]+\\.js(\\.map)?$', hint: 'a script of the pages' }),
})

/**
 * The pages and their scripts: open to anyone who reaches the port, as they carry no data — what they show,
 * they read from the admin API with the token they are given (the dashboard's #token=…, the trainee's link).
 */
export const pageRoutes: FastifyPluginAsync<{ training: boolean }> = async (app, { training }) => {
  // The page knows whether the lab runs a class, so that outside one it never asks for /training.
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(dashboardPage(training)))
  app.get('/dashboard', async (_req, reply) => reply.redirect('/', 302))
  app.get('/trainee', async (_req, reply) => reply.type('text/html; charset=utf-8').send(traineePage()))
  await app.register(assetRoutes)
}

/** The pages' scripts, as `npm run build` compiled them (the fleet view serves them too). */
export const assetRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: Static<typeof Asset> }>(
    '/assets/:file',
    { schema: { params: Asset }, config: { does: 'serve a script of the pages' } },
    async (req, reply) => {
      let body: Buffer
      try {
        body = await readFile(join(ASSETS, req.params.file))
      } catch {
        const built = req.params.file.endsWith('.map') ? 'has no such map' : 'is not built: run npm run build'
        return reply.code(404).send({ error: `the pages' script ${req.params.file} ${built}` })
      }
      const type = req.params.file.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8'
      return reply.type(type).header('cache-control', 'no-cache').send(body)
    },
  )
}
