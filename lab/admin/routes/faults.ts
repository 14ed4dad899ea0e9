import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { LabError } from '../../../core/errors.js'
import { FaultRuleSchema, type FaultRule } from '../../../core/faults/types.js'
import type { Lab } from '../../runtime.js'
import { badRequest } from '../http.js'

const Id = Type.Object({ id: Type.String({ minLength: 1 }) })

/** Faults in force, from the one vocabulary every server takes: list, add, remove one, clear. */
export const faultRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  app.get('/faults', async () => ({ faults: lab.faults.list() }))

  app.post<{ Body: FaultRule }>(
    '/faults',
    { schema: { body: FaultRuleSchema }, config: { does: 'add a fault' } },
    async (req, reply) => {
      try {
        return await reply.code(201).send(lab.faults.add(req.body))
      } catch (err) {
        if (err instanceof LabError && err.code === 'LAB_ERR_FAULT_INVALID')
          return badRequest(reply, err.message, (err as LabError & { problems?: unknown[] }).problems ?? [])
        throw err
      }
    },
  )

  app.delete('/faults', async () => ({ cleared: lab.faults.clear() }))

  app.delete<{ Params: Static<typeof Id> }>(
    '/faults/:id',
    { schema: { params: Id }, config: { does: 'remove a fault' } },
    async (req, reply) => {
      try {
        lab.faults.remove(req.params.id)
        return await reply.code(204).send()
      } catch (err) {
        if (err instanceof LabError && err.code === 'LAB_ERR_FAULT_NOT_FOUND')
          return reply.code(404).send({ error: err.message })
        throw err
      }
    },
  )
}
