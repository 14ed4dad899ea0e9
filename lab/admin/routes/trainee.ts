import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify'
import type { Lab } from '../../runtime.js'
import { describeEdit } from '../../training/edits.js'
import type { Trainee, TrainingSession } from '../../training/session.js'
import { toolsOnLab } from '../../training/tools.js'
import { captureKey, deviceCapture } from '../capture.js'
import { sendReport } from '../training-report.js'
import { phoneEvents, traineeState } from '../training.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The trainee whose token the request carries (the trainee's routes only). */
    trainee?: Trainee
  }
}

const Answer = Type.Object({ choice: Type.String() })
const Lookup = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253 }),
  type: Type.String({ minLength: 1, maxLength: 10 }),
})
const Search = Type.Object({ q: Type.String({ minLength: 1, maxLength: 200 }) })
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
  toolRoutes(app, lab, session)
  app.get<{ Querystring: Static<typeof Format> }>(
    '/trainee/report',
    { schema: { querystring: Format } },
    async (req, reply) => sendReport(reply, ...mine(req), req.query.format ?? 'html'),
  )
}

/** What a refused request gets: the session's reason (a tool the exercise does not give, a wrong change). */
const refused = (reply: FastifyReply, err: unknown): FastifyReply =>
  reply.code(400).send({ error: (err as Error).message })

/**
 * A support engineer's tools, on the trainee's own phone and view (issue 38), each use recorded for the report:
 * nslookup, a directory search, the phone's journal and capture, changes to their DNS and DHCP, a reboot of an
 * emulated phone, and the check that their phone signed in after the fix.
 */
function toolRoutes(app: FastifyInstance, lab: Lab, given: TrainingSession | undefined): void {
  const tools = toolsOnLab(lab)
  // The context's hook refused every request without a trainee, so a session and a trainee are there.
  const mine = (req: { trainee?: Trainee }): Trainee => req.trainee!
  const session = (_req: unknown): TrainingSession => given!
  app.get<{ Querystring: Static<typeof Lookup> }>(
    '/trainee/tools/dns',
    { schema: { querystring: Lookup } },
    async (req, reply) => {
      const { name, type } = req.query
      try {
        session(req).use(mine(req), 'dns-lookup', `${name} ${type.toUpperCase()}`)
      } catch (err) {
        return refused(reply, err)
      }
      return tools.lookup(mine(req).device, name, type)
    },
  )
  app.get<{ Querystring: Static<typeof Search> }>(
    '/trainee/tools/directory',
    { schema: { querystring: Search } },
    async (req, reply) => {
      try {
        session(req).use(mine(req), 'directory-search', req.query.q)
      } catch (err) {
        return refused(reply, err)
      }
      return { found: tools.searchDirectory(mine(req).device, req.query.q) }
    },
  )
  app.get('/trainee/tools/journal', async (req, reply) => {
    try {
      session(req).use(mine(req), 'journal', 'read the phone’s journal')
    } catch (err) {
      return refused(reply, err)
    }
    return { events: phoneEvents(session(req), mine(req), lab) }
  })
  app.get('/trainee/tools/capture', async (req, reply) => {
    const t = mine(req)
    try {
      session(req).use(t, 'capture', 'saved the phone’s capture')
    } catch (err) {
      return refused(reply, err)
    }
    const found = deviceCapture(
      lab.capture,
      lab.journal.query({}, 100_000),
      { device: t.device },
      lab.endpoints(),
    )
    if (!found) return reply.code(404).send({ error: 'nothing captured of your phone yet' })
    return reply
      .type('application/x-pcapng')
      .header(
        'content-disposition',
        `attachment; filename="cx700-${captureKey(t.device).replace(/[^a-zA-Z0-9.-]+/g, '-')}.pcapng"`,
      )
      .send(Buffer.from(found.bytes))
  })
  app.post('/trainee/tools/edit', { config: { does: 'change your view' } }, async (req, reply) => {
    try {
      return { done: describeEdit(session(req).edit(mine(req), req.body)) }
    } catch (err) {
      return refused(reply, err)
    }
  })
  app.post('/trainee/reboot', { config: { does: 'reboot your phone' } }, async (req) => ({
    // An emulated phone takes the command at its next poll; a hardware phone is power-cycled by hand.
    left: lab.phoneCommands.give(mine(req).device, 'reboot'),
  }))
  app.post('/trainee/check', { config: { does: 'check your fix' } }, async (req, reply) => {
    try {
      return await session(req).check(mine(req))
    } catch (err) {
      return refused(reply, err)
    }
  })
}
