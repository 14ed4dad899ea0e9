import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { LabClock } from '../../core/clock.js'
import { DurationSchema, parseDuration } from '../../core/schema/common.js'
import { schemaProblems } from '../../core/schema/problems.js'

/** What `GET /clock` answers: where lab time stands and how fast it runs. */
export interface ClockView {
  readonly labTime: string
  readonly wallTime: string
  readonly labMs: number
  readonly wallMs: number
  readonly rate: number
  /** Lab timers planned (registrations, leases, emulated phones' cycles). */
  readonly pending: number
}

export const ClockChangeSchema = Type.Object(
  {
    rate: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1_000_000,
        description: 'Lab seconds per wall second from now on.',
      }),
    ),
    advance: Type.Optional(DurationSchema),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type ClockChangeRequest = Static<typeof ClockChangeSchema>

export function clockView(clock: LabClock): ClockView {
  const { labMs, wallMs, rate } = clock.state()
  return {
    labTime: new Date(labMs).toISOString(),
    wallTime: new Date(wallMs).toISOString(),
    labMs,
    wallMs,
    rate,
    pending: clock.pending,
  }
}

/** `GET /clock`, and `POST /clock` `{ rate?, advance? }`: run lab time faster or move it on at once. */
export function clockRoutes(app: FastifyInstance, clock: LabClock): void {
  app.get('/clock', async () => clockView(clock))
  app.post('/clock', async (req, reply) => {
    const body: unknown = req.body
    const problems = schemaProblems(ClockChangeSchema, body)
    const change = body as ClockChangeRequest
    const back = change.advance !== undefined && change.advance.startsWith('-')
    if (problems.length > 0 || back)
      return reply.code(400).send({
        error: back
          ? 'Failed to change the lab clock: it only moves forward (advance takes a positive duration).'
          : 'Failed to change the lab clock: the request is invalid.',
        problems,
      })
    if (change.rate !== undefined) clock.setRate(change.rate)
    if (change.advance !== undefined) clock.advance(parseDuration(change.advance))
    return clockView(clock)
  })
}
