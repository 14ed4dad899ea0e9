import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import type { Exercise } from '../../training/pack.js'
import type { TrainingSession, Trainee } from '../../training/session.js'
import { sendReport, sendSummary } from '../training-report.js'

const Id = Type.Object({ id: Type.String({ minLength: 1 }) })
const NewTrainee = Type.Object({ name: Type.String(), device: Type.String() })
const Assign = Type.Union([Type.Null(), Type.Object({ exercise: Type.Optional(Type.String()) })])
const Format = Type.Object({ format: Type.Optional(Type.String()) })

const none = (reply: FastifyReply): FastifyReply =>
  reply.code(404).send({ error: 'no exercise pack is loaded (cx700-lab train PACK)' })
const failed = (reply: FastifyReply, err: unknown): FastifyReply =>
  reply.code(400).send({ error: (err as Error).message })

/** A trainee as the trainer's console lists it, with the link to give them. */
const view = (s: TrainingSession, t: Trainee) => {
  const current = s.current(t)?.exercise
  return {
    id: t.id,
    name: t.name,
    device: t.device,
    url: `/trainee#token=${t.token}`,
    current: current ? { id: current.id, title: current.title } : null,
    report: s.report(t),
  }
}

/** An exercise as the console offers it: what it is, and where its story runs — shown before assigning. */
const offered = (s: TrainingSession, e: Exercise) => ({
  id: e.id,
  title: e.title,
  kind: e.kind,
  tools: e.tools,
  scope: s.scope(e),
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
      pack: { name, description: description ?? '', exercises: exercises.map((e) => offered(session, e)) },
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
        const t = session.trainee(req.params.id)
        return {
          trainee: t.name,
          traineeId: t.id,
          exercise: a.exercise.title,
          exerciseId: a.exercise.id,
          faults: a.faultIds,
          scope: session.scope(a.exercise),
        }
      } catch (err) {
        return failed(reply, err)
      }
    },
  )
  app.get<{ Querystring: Static<typeof Format> }>(
    '/training/summary',
    { schema: { querystring: Format } },
    async (req, reply) => (session ? sendSummary(reply, session, req.query.format) : none(reply)),
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
