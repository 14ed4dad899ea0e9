import { PassThrough } from 'node:stream'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { matchesFilter, type JournalFilter } from '../../../core/journal/journal.js'
import type { Lab } from '../../runtime.js'

const Digits = Type.String({ pattern: '^\\d+$', hint: 'a whole number' })
/** A time: milliseconds since the epoch, or an ISO date. */
const Time = Type.String({ minLength: 1 })
const Query = Type.Object(
  {
    device: Type.Optional(Type.String()),
    server: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    afterSeq: Type.Optional(Digits),
    since: Type.Optional(Time),
    until: Type.Optional(Time),
    limit: Type.Optional(Digits),
    follow: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)
type Query = Static<typeof Query>

const time = (t: string): string | number => (/^\d+$/.test(t) ? Number(t) : t)

export function journalFilter(q: Query): JournalFilter {
  return {
    ...(q.device ? { device: q.device } : {}),
    ...(q.server ? { server: q.server } : {}),
    ...(q.kind ? { kind: q.kind } : {}),
    ...(q.afterSeq !== undefined ? { afterSeq: Number(q.afterSeq) } : {}),
    ...(q.since !== undefined ? { since: time(q.since) } : {}),
    ...(q.until !== undefined ? { until: time(q.until) } : {}),
  }
}

/** The one journal: read (past memory, from its files), followed as NDJSON or server-sent events, cleared. */
export const journalRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  app.get<{ Querystring: Query }>(
    '/journal',
    { schema: { querystring: Query }, config: { does: 'read the journal' } },
    async (req, reply) => {
      const q = req.query
      const filter = journalFilter(q)
      const limit = q.limit !== undefined ? Math.min(Number(q.limit), 100_000) : 1000
      if (q.follow !== '1' && q.follow !== 'true') {
        // Past what memory holds, the journal's files answer (lastSeq first: the events are up to it or later).
        const lastSeq = lab.journal.lastSeq
        return { lastSeq, events: await lab.journal.queryAll(filter, limit) }
      }
      const stream = new PassThrough()
      for (const e of lab.journal.query(filter, limit)) stream.write(JSON.stringify(e) + '\n')
      const unsubscribe = lab.journal.subscribe((e) => {
        if (matchesFilter(e, filter)) stream.write(JSON.stringify(e) + '\n')
      })
      req.raw.on('close', () => {
        unsubscribe()
        stream.end()
      })
      return reply.type('application/x-ndjson').send(stream)
    },
  )

  // Server-sent events: every new journal event as one `data:` line (the dashboard's live feed).
  app.get('/journal/events', async (req, reply) => {
    const stream = new PassThrough()
    stream.write(': cx700-lab journal\n\n')
    const unsubscribe = lab.journal.subscribe((e) =>
      stream.write(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`),
    )
    req.raw.on('close', () => {
      unsubscribe()
      stream.end()
    })
    return reply.type('text/event-stream').header('cache-control', 'no-cache').send(stream)
  })

  app.post('/journal/clear', async (_req, reply) => {
    lab.journal.clear()
    return reply.code(204).send()
  })
}
