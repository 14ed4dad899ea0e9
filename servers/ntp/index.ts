import type { ServerDefinition } from '../../lab/server.js'
import { NtpServer } from './server.js'
import { NTP_FAULTS, type NtpConfig } from './schema.js'

export {
  decodeNtp,
  encodeNtp,
  ntpTimestampFromUnixMs,
  unixMsFromNtpTimestamp,
  type NtpPacket,
} from './codec.js'
export { answerNtp } from './behaviour.js'
export { NtpSchema, type NtpConfig } from './schema.js'
export { NtpServer } from './server.js'

export const ntpDefinition: ServerDefinition<NtpConfig> = {
  name: 'ntp',
  sockets: [{ name: 'ntp', transport: 'udp', standardPort: 123 }],
  faults: NTP_FAULTS,
  roles: ['ntp'],
  slice: (scenario) => scenario.servers.ntp,
  runtime: () => undefined,
  create: (config, listen, deps) => new NtpServer(config, listen, deps),
}
