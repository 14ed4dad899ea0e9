import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { TrainingSession, Trainee } from '../../training/session.js'
import { sendReport } from '../training.js'

const Id = Type.Object({ id: Type.String({ minLength: 1 }) })
const NewTrainee = Type.Object({ name: Type.String(), device: Type.String() })
const Assign = Type.Union([Type.Null(), Type.Object({ exercise: Type.Optional(Type.String()) })])
const Format = Type.Object({ format: Type.Optional(Type.String()) })

const none = (reply: FastifyReply): FastifyReply =>
  reply.code(404).send({ error: 'no exercise pack is loaded (cx700-lab train PACK)' })
const failed = (reply: FastifyReply, err: unknown): FastifyReply =>
  reply.code(400).send({ error: (err as Error).message })

/** A trainee as the trainer's console lists it, with the link to give them. */
const view = (s: TrainingSession, t: Trainee) => ({
  id: t.id,
  name: t.name,
  device: t.device,
  url: `/trainee#token=${t.token}`,
  current: s.current(t)?.exercise.id ?? null,
  report: s.report(t),
})

/** The trainer's routes under /training, behind the admin API's gate: the pack, trainees, assignments, reports. */
export const trainingRoutes: FastifyPluginAsync<{ session: TrainingSession | undefined }> = async (
  app,
  { session },
) => {
  app.get('/training', async (_req, reply) => {
    if (!session) return none(reply)
    const { name, description, exercises } = session.pack
    return {
      pack: { name, description: description ?? '', exercises },
      trainees: session.trainees().map((t) => view(session, t)),
    }
  })
  app.post<{ Body: Static<typeof NewTrainee> }>(
    '/training/trainees',
    { schema: { body: NewTrainee }, config: { does: 'add a trainee' } },
    async (req, reply) => {
      if (!session) return none(reply)
      try {
        return await reply.code(201).send(view(session, session.addTrainee(req.body.name, req.body.device)))
      } catch (err) {
        return failed(reply, err)
      }
    },
  )
  app.post<{ Params: Static<typeof Id>; Body: Static<typeof Assign> }>(
    '/training/trainees/:id/assign',
    { schema: { params: Id, body: Assign }, config: { does: 'assign an exercise' } },
    async (req, reply) => {
      if (!session) return none(reply)
      try {
        const a = await session.assign(req.params.id, req.body?.exercise || undefined)
        return { trainee: req.params.id, exercise: a.exercise.id, faults: a.faultIds }
      } catch (err) {
        return failed(reply, err)
      }
    },
  )
  app.get<{ Params: Static<typeof Id>; Querystring: Static<typeof Format> }>(
    '/training/trainees/:id/report',
    { schema: { params: Id, querystring: Format } },
    async (req, reply) => {
      if (!session) return none(reply)
      try {
        return sendReport(reply, session, session.trainee(req.params.id), req.query.format)
      } catch (err) {
        return failed(reply, err)
      }
    },
  )
}
