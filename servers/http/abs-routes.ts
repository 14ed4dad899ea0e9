import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { stateOf, type HttpContext } from './context.js'

/**
 * The Address Book Server's virtual directories (spec §4.3): `GET /abs/int/handler/<file>` and
 * `/abs/ext/handler/<file>`, behind IIS authentication, serving the files ABServer generated (ADR 0013).
 */
export function absRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const file = async (
    req: FastifyRequest<{ Params: { file: string } }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> => {
    if (!ctx.config(req).block.abs.enabled) return ctx.notFound(reply)
    const s = stateOf(req)
    s.operation = 'address book'
    const found = ctx.addressBook.file(req.params.file)
    if (!found) {
      s.code = `no ${req.params.file}`
      return ctx.notFound(reply)
    }
    s.code = `${req.params.file}: ${found.entries} entries`
    s.items = found.entries
    return reply.type('application/octet-stream').send(found.bytes)
  }
  app.get('/abs/int/handler/:file', file)
  app.get('/abs/ext/handler/:file', file)
}
