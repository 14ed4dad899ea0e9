import { parseDuration } from '../../core/schema/common.js'
import type { NtpConfig } from './schema.js'
import {
  NtpLeap,
  NtpMode,
  ntpShortFromMs,
  ntpTimestampFromUnixMs,
  referenceIdFrom,
  type NtpPacket,
} from './codec.js'

/** What a fault asks the behaviour to do differently (the `error` and `answer` fault kinds). */
export interface NtpOverride {
  readonly kiss?: string
  readonly set?: Readonly<Record<string, string | number | boolean>>
}

export interface NtpTimes {
  /** Lab clock (real time, no offset) when the request arrived. */
  readonly receivedMs: number
  /** Lab clock when the answer leaves. */
  readonly transmitMs: number
}

export type NtpOutcome =
  | {
      readonly action: 'reply'
      readonly packet: NtpPacket
      readonly offsetMs: number
      readonly kiss?: string
    }
  | { readonly action: 'ignore'; readonly reason: string }

const LEAP_BITS: Record<string, number> = {
  none: NtpLeap.none,
  insert: NtpLeap.insert,
  delete: NtpLeap.delete,
  unsynchronised: NtpLeap.unsynchronised,
}

/**
 * RFC 5905 server mode, pure. Answers client-mode requests of the configured versions with the version the
 * client used, the client's transmit timestamp copied verbatim into origin, and receive/transmit times from
 * the lab clock moved by the scenario's offset.
 */
export function answerNtp(
  request: NtpPacket,
  config: NtpConfig,
  times: NtpTimes,
  override: NtpOverride = {},
): NtpOutcome {
  if (config.silent) return { action: 'ignore', reason: 'silent (scenario knob)' }
  if (request.mode !== NtpMode.client)
    return { action: 'ignore', reason: `mode ${request.mode} is not a client request` }
  if (!config.versions.includes(request.version)) {
    return {
      action: 'ignore',
      reason: `version ${request.version} is not answered (versions: ${config.versions.join(', ')})`,
    }
  }
  const set = override.set ?? {}
  const offsetMs = parseDuration(typeof set.offset === 'string' ? set.offset : config.offset)
  const kiss = override.kiss ?? config.kod
  const leapName = typeof set.leap === 'string' ? set.leap : config.leap
  const unsynchronised = leapName === 'unsynchronised'
  const stratum =
    typeof set.stratum === 'number'
      ? set.stratum
      : kiss !== undefined
        ? 0
        : unsynchronised
          ? 16
          : config.stratum
  const transmitMs = times.transmitMs + offsetMs
  const packet: NtpPacket = {
    leap: kiss !== undefined ? NtpLeap.unsynchronised : (LEAP_BITS[leapName] ?? NtpLeap.none),
    version: typeof set.version === 'number' ? set.version : request.version,
    mode: NtpMode.server,
    stratum,
    poll: Math.min(17, Math.max(4, request.poll)),
    precision: config.precision,
    rootDelay: 0,
    rootDispersion: ntpShortFromMs(unsynchronised ? 16_000 : 10),
    referenceId: referenceIdFrom(kiss ?? config.referenceId),
    referenceTimestamp:
      kiss !== undefined || unsynchronised ? 0n : ntpTimestampFromUnixMs(transmitMs - 64_000),
    originTimestamp: set.originZero === true ? 0n : request.transmitTimestamp,
    receiveTimestamp: ntpTimestampFromUnixMs(times.receivedMs + offsetMs),
    transmitTimestamp: ntpTimestampFromUnixMs(transmitMs),
    extra: new Uint8Array(0),
  }
  return { action: 'reply', packet, offsetMs, ...(kiss !== undefined ? { kiss } : {}) }
}
