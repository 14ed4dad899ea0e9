import { NtpSchema } from './schema.js'
import type { LabServerDefinition } from '../contract.js'
import { askNtp, classifyNtp } from './events.js'
import { NtpServer } from './server.js'
import { NTP_FAULTS, type NtpConfig } from './schema.js'

export { NtpSchema, type NtpConfig } from './schema.js'

export const ntpDefinition: LabServerDefinition<typeof NtpSchema, NtpConfig> = {
  name: 'ntp',
  schema: NtpSchema,
  sockets: [{ name: 'ntp', transport: 'udp', standardPort: 123 }],
  faults: NTP_FAULTS,
  roles: ['ntp'],
  slice: (block) => block,
  classify: classifyNtp,
  ask: askNtp,
  runtime: () => undefined,
  create: (config, listen, deps) => new NtpServer(config, listen, deps),
}
