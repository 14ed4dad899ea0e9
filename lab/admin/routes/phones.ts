import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { StringEnum } from '../../../core/schema/common.js'
import { PHONE_COMMANDS, type PhoneCommands } from '../phone-commands.js'

const Mac = Type.String({
  pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$',
  hint: 'a MAC such as 00:04:f2:01:02:03',
})
const Command = Type.Object({ mac: Mac, command: StringEnum(PHONE_COMMANDS) })
const Phone = Type.Object({ mac: Type.String({ minLength: 1 }) })

/** Commands for living emulated phones: left by an operator, taken by the phone (in this process or another). */
export const phoneRoutes: FastifyPluginAsync<{ commands: PhoneCommands }> = async (app, { commands }) => {
  app.post<{ Params: Static<typeof Command> }>(
    '/phones/:mac/:command',
    { schema: { params: Command }, config: { does: 'command a phone' } },
    async (req, reply) => {
      const mac = req.params.mac.toLowerCase()
      const { command } = req.params
      if (!commands.give(mac, command))
        return reply
          .code(429)
          .send({ error: `Failed to command ${mac}: too many commands are waiting.`, problems: [] })
      return reply.code(202).send({ mac, command })
    },
  )
  app.get<{ Params: Static<typeof Phone> }>(
    '/phones/:mac/commands',
    { schema: { params: Phone } },
    async (req) => ({ commands: commands.take(req.params.mac) }),
  )
}
