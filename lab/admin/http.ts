import type { TSchema } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { schemaProblems } from '../../core/schema/problems.js'

/** A problem with a request, as the admin API reports it: where (a JSON pointer) and what. */
export interface Problem {
  readonly path: string
  readonly message: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route does, in the words of its 400 ("add a fault"): "Failed to add a fault: …". */
    readonly does?: string
  }
}

/** A request that its route's schema refuses, with every problem the lab's validator found. */
class RequestProblems extends Error {
  readonly statusCode = 400
  constructor(readonly problems: readonly Problem[]) {
    super('the request is invalid')
  }
}

/** A 400 in the admin API's one shape: `{ error, problems }`. */
export function badRequest(
  reply: FastifyReply,
  error: string,
  problems: readonly unknown[] = [],
): FastifyReply {
  return reply.code(400).send({ error, problems })
}

const PART: Readonly<Record<string, string>> = {
  body: 'request body',
  querystring: 'query string',
  params: 'path',
  headers: 'request headers',
}

/**
 * Every admin route's schema is checked by the lab's own validator (its words, JSON pointers, did-you-mean),
 * and a refusal answers 400 `{ error, problems }` like every other admin error; a route names what it does
 * (`config.does`). An error a handler did not expect is a 500 that says so, never a stack trace.
 */
export function labValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema }) => (data: unknown) => {
    const problems = schemaProblems(schema as TSchema, data)
    return problems.length === 0 ? { value: data } : { error: new RequestProblems(problems) }
  })
  app.setErrorHandler(async (err, req, reply) => {
    if (err instanceof RequestProblems) {
      const part = PART[(err as { validationContext?: string }).validationContext ?? ''] ?? 'request'
      const does = req.routeOptions.config.does
      return badRequest(reply, `Failed to ${does ?? 'answer'}: the ${part} is invalid.`, err.problems)
    }
    const status = (err as { statusCode?: number }).statusCode
    if (status !== undefined && status >= 400 && status < 500)
      return reply.code(status).send({ error: (err as Error).message, problems: [] })
    return reply.code(500).send({ error: `the admin API failed: ${(err as Error).message}`, problems: [] })
  })
}
