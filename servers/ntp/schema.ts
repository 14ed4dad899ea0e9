import { Type, type Static } from '@sinclair/typebox'
import { DurationSchema, StringEnum, serverBlock } from '../../core/schema/common.js'
import type { FaultCapabilities } from '../../core/faults/types.js'

export const NTP_LEAP = ['none', 'insert', 'delete', 'unsynchronised'] as const
export const NTP_KISS_CODES = ['RATE', 'DENY', 'RSTR'] as const

/** The `servers.ntp` block of a scenario. */
export const NtpSchema = serverBlock(
  {
    offset: Type.String({
      ...DurationSchema,
      default: '0s',
      description:
        'How far the lab clock that NTP serves is from real time, e.g. +3y for "the phone lives three years ahead".',
    }),
    stratum: Type.Integer({ minimum: 1, maximum: 15, default: 2 }),
    referenceId: Type.String({
      default: 'LOCL',
      pattern: '^([A-Z0-9]{1,4}|\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})$',
      hint: 'up to four ASCII letters (stratum 1) or an IPv4 address',
    }),
    precision: Type.Integer({ minimum: -32, maximum: 0, default: -20, description: 'log2 seconds' }),
    leap: StringEnum(NTP_LEAP, {
      default: 'none',
      description: 'unsynchronised = LI 3 with stratum 16, which clients reject.',
    }),
    kod: Type.Optional(
      StringEnum(NTP_KISS_CODES, { description: "Answer every request with this Kiss-o'-Death code." }),
    ),
    silent: Type.Boolean({ default: false, description: 'Receive and journal, but never answer.' }),
    versions: Type.Array(Type.Integer({ minimum: 1, maximum: 4 }), {
      default: [1, 2, 3, 4],
      minItems: 1,
      uniqueItems: true,
      description: 'Request versions answered; others are journaled and dropped.',
    }),
  },
  'NTP (RFC 5905 server mode): the phone sets its clock from it (spec §2.3).',
)
export type NtpConfig = Static<typeof NtpSchema>

export const NTP_FAULTS: FaultCapabilities = {
  kinds: ['drop', 'delay', 'garbage', 'corrupt', 'truncate', 'error', 'answer'],
  errorCodes: NTP_KISS_CODES,
  answerFields: {
    offset: DurationSchema,
    stratum: Type.Integer({ minimum: 0, maximum: 16, hint: 'an integer stratum from 0 to 16' }),
    leap: StringEnum(NTP_LEAP, { hint: `one of ${NTP_LEAP.join(', ')}` }),
    version: Type.Integer({ minimum: 0, maximum: 7, hint: 'an integer version from 0 to 7' }),
    originZero: Type.Boolean({ hint: 'true or false (true: origin timestamp zeroed, which clients reject)' }),
  },
  matchFields: ['version', 'mode'],
}
