import { timingSafeEqual } from 'node:crypto'
import type { onRequestAsyncHookHandler } from 'fastify'

/**
 * The admin API's one gate: an onRequest hook of the context that holds every admin route (lab/admin/app.ts),
 * so what it guards is decided by where a route is registered, never by comparing URLs. Off loopback it
 * asks for `Authorization: Bearer <token>` (the token printed when the lab started); on loopback there is
 * none to ask for.
 */
export function adminGuard(token: string | undefined): onRequestAsyncHookHandler {
  const expected = token === undefined ? undefined : Buffer.from(`Bearer ${token}`)
  return async (req, reply) => {
    if (expected === undefined) return
    const given = Buffer.from(req.headers.authorization ?? '')
    if (given.length === expected.length && timingSafeEqual(given, expected)) return
    await reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: 'a bearer token is required (printed when the lab started)' })
  }
}
