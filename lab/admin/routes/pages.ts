import type { FastifyPluginAsync } from 'fastify'
import { dashboardPage } from '../dashboard.js'
import { traineePage } from '../training.js'

/**
 * The pages: open to anyone who reaches the port, as they carry no data — what they show, they read from the
 * admin API with the token they are given (the dashboard's #token=…, the trainee's link).
 */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(dashboardPage()))
  app.get('/dashboard', async (_req, reply) => reply.redirect('/', 302))
  app.get('/trainee', async (_req, reply) => reply.type('text/html; charset=utf-8').send(traineePage()))
}
