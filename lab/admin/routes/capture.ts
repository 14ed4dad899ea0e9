import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { BOOT_STAGES, type BootStage } from '../../../core/journal/events.js'
import { StringEnum } from '../../../core/schema/common.js'
import type { Lab } from '../../runtime.js'
import { captureKey, deviceCapture } from '../capture.js'

const Params = Type.Object({ device: Type.String({ minLength: 1 }) })
const Query = Type.Object({ stage: Type.Optional(StringEnum(BOOT_STAGES)) })

/** A capture's file name: the device, and the stage when it is one stage's. */
const fileName = (device: string, stage: BootStage | undefined): string =>
  `cx700-${captureKey(device).replace(/[^a-zA-Z0-9.-]+/g, '-')}${stage ? `-${stage.replace(/[^a-zA-Z]+/g, '')}` : ''}`

/** Packet captures per device and stage: pcapng with the TLS secrets, for Wireshark. */
export const captureRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  app.get('/capture', async () => ({ options: lab.capture.options, devices: lab.capture.devices() }))
  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>(
    '/capture/:device',
    { schema: { params: Params, querystring: Query }, config: { does: 'read a capture' } },
    async (req, reply) => {
      const { device } = req.params
      const stage = req.query.stage
      const found = deviceCapture(
        lab.capture,
        lab.journal.query({}, 100_000),
        { device, ...(stage !== undefined ? { stage } : {}) },
        lab.endpoints(),
      )
      if (!found)
        return reply.code(404).send({
          error: lab.capture.enabled
            ? `nothing captured for ${device} (GET /capture lists the devices)`
            : 'captures are off in this lab (cx700-lab up --capture-mb 0)',
        })
      return reply
        .type('application/x-pcapng')
        .header('content-disposition', `attachment; filename="${fileName(device, stage)}.pcapng"`)
        .header('x-capture-frames', String(found.frames))
        .header('x-capture-secrets-withheld', String(found.withheld))
        .send(Buffer.from(found.bytes))
    },
  )
}
