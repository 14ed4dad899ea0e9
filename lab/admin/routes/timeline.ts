import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { parseDuration } from '../../../core/schema/common.js'
import type { Lab } from '../../runtime.js'
import { timelineHtml } from '../dashboard.js'
import { asGolden, diffGolden, goldenDiffers, goldenOf, type GoldenTimeline } from '../golden.js'
import { ladderSvg } from '../ladder.js'
import { STAGES, buildTimelines, type DeviceTimeline } from '../timeline.js'

const Params = Type.Object({ key: Type.String({ minLength: 1 }) })
const Format = Type.Object({
  format: Type.Optional(Type.String()),
  stage: Type.Optional(Type.String({ description: 'format=svg: only this stage’s exchanges' })),
})
const DiffBody = Type.Object({ golden: Type.Unknown(), tolerance: Type.Optional(Type.String()) })

/** Each device's boot as the dashboard draws it; one exported as JSON or HTML; a boot against a golden one. */
export const timelineRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  const timelines = (): DeviceTimeline[] => buildTimelines(lab.journal.query({}, 100_000), lab.clock.now())
  const noDevice = (reply: FastifyReply, key: string): FastifyReply =>
    reply.code(404).send({ error: `no device ${key} in the journal (GET /timeline lists them)` })

  app.get('/timeline', async () => ({ devices: timelines() }))

  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof Format> }>(
    '/timeline/:key',
    { schema: { params: Params, querystring: Format }, config: { does: 'export a timeline' } },
    async (req, reply) => {
      const t = timelines().find((d) => d.key === req.params.key)
      if (!t) return noDevice(reply, req.params.key)
      const name = `cx700-timeline-${t.key.replace(/[^a-zA-Z0-9.-]+/g, '_')}`
      if (req.query.format === 'svg') {
        const stage = STAGES.find((x) => x === req.query.stage)
        if (req.query.stage !== undefined && stage === undefined)
          return reply.code(400).send({ error: `stage is one of ${STAGES.join(', ')}`, problems: [] })
        return reply
          .type('image/svg+xml; charset=utf-8')
          .header(
            'content-disposition',
            `inline; filename="${name}${stage ? `-${stage.replace('/', '-')}` : ''}.svg"`,
          )
          .send(ladderSvg(t, stage ? { stage } : {}))
      }
      if (req.query.format === 'html')
        return reply
          .type('text/html; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}.html"`)
          .send(timelineHtml(t, lab.scenario.name))
      return reply.header('content-disposition', `inline; filename="${name}.json"`).send(t)
    },
  )

  // A device's last boot against a golden timeline (the dashboard's "Compare with a golden file").
  app.post<{ Params: Static<typeof Params>; Body: Static<typeof DiffBody> }>(
    '/timeline/:key/diff',
    { schema: { params: Params, body: DiffBody }, config: { does: 'compare with a golden timeline' } },
    async (req, reply) => {
      const t = timelines().find((d) => d.key === req.params.key)
      if (!t) return noDevice(reply, req.params.key)
      let golden: GoldenTimeline
      let toleranceMs: number
      try {
        golden = asGolden(req.body.golden)
        toleranceMs = parseDuration(req.body.tolerance ?? '2s')
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message, problems: [] })
      }
      const now = goldenOf(t)
      const differences = diffGolden(golden, now, toleranceMs)
      return {
        device: t.key,
        against: golden.device,
        boots: { golden: golden.boot ?? null, device: now.boot ?? null },
        differs: goldenDiffers(differences),
        differences,
      }
    },
  )
}
