import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { Lab } from '../../runtime.js'
import type { Trainee, TrainingSession } from '../../training/session.js'
import { sendReport, traineeState } from '../training.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The trainee whose token the request carries (the trainee's routes only). */
    trainee?: Trainee
  }
}

const Answer = Type.Object({ choice: Type.String() })
const Format = Type.Object({ format: Type.Optional(Type.String()) })

/**
 * The trainee's routes under /trainee/, in a context of their own: its one hook takes only a trainee's own
 * token (never the admin one) and every route shows only that trainee's phone. The page itself (`GET
 * /trainee`) carries no data and is served with the other pages.
 */
export const traineeRoutes: FastifyPluginAsync<{ lab: Lab; session: TrainingSession | undefined }> = async (
  app,
  { lab, session },
) => {
  app.addHook('onRequest', async (req, reply) => {
    const given = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '')
    const t = session && given ? session.byToken(given) : undefined
    if (t) req.trainee = t
    else
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'open the link your trainer gave you' })
  })
  // The hook refused every request without a trainee, so a session and a trainee are there below.
  const mine = (req: { trainee?: Trainee }): [TrainingSession, Trainee] => [session!, req.trainee!]

  app.get('/trainee/state', async (req) => traineeState(...mine(req), lab))
  app.post('/trainee/hint', async (req) => {
    const [s, t] = mine(req)
    return { hint: s.hint(t) ?? null }
  })
  app.post<{ Body: Static<typeof Answer> }>(
    '/trainee/answer',
    { schema: { body: Answer }, config: { does: 'answer' } },
    async (req, reply) => {
      const [s, t] = mine(req)
      try {
        return { correct: (await s.answer(t, req.body.choice)).correct }
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message })
      }
    },
  )
  app.get<{ Querystring: Static<typeof Format> }>(
    '/trainee/report',
    { schema: { querystring: Format } },
    async (req, reply) => sendReport(reply, ...mine(req), req.query.format ?? 'html'),
  )
}
