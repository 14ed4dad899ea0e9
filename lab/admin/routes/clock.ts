import type { FastifyPluginAsync } from 'fastify'
import type { LabClock } from '../../../core/clock.js'
import { parseDuration } from '../../../core/schema/common.js'
import { ClockChangeSchema, clockView, type ClockChangeRequest } from '../clock-view.js'
import { badRequest } from '../http.js'

/** `GET /clock`, and `POST /clock` `{ rate?, advance? }`: run lab time faster or move it on at once. */
export const clockRoutes: FastifyPluginAsync<{ clock: LabClock }> = async (app, { clock }) => {
  app.get('/clock', async () => clockView(clock))
  app.post<{ Body: ClockChangeRequest }>(
    '/clock',
    {
      schema: { body: ClockChangeSchema },
      config: { does: 'change the lab clock' },
      // Said before the schema's words, which would only call a negative duration malformed.
      preValidation: async (req, reply) => {
        const advance = (req.body as { advance?: unknown } | undefined)?.advance
        if (typeof advance === 'string' && advance.startsWith('-'))
          await badRequest(
            reply,
            'Failed to change the lab clock: it only moves forward (advance takes a positive duration).',
          )
      },
    },
    async (req) => {
      const change = req.body
      if (change.rate !== undefined) clock.setRate(change.rate)
      if (change.advance !== undefined) clock.advance(parseDuration(change.advance))
      return clockView(clock)
    },
  )
}
