import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type EventOf,
  type GarbageDetail,
  type MalformedDetail,
  type AskReader,
  detailText,
  type BaseEvents,
} from '../../core/journal/events.js'

/** An NTP request as the server read it. */
export interface NtpRequestDetail extends EventDetail {
  readonly version: number
  readonly mode: number
  /** The client's transmit timestamp, in hex (the origin the answer echoes). */
  readonly transmitTimestamp: string
  readonly bytes: number
}

/** The detail of an `ntp:response` (a Kiss-o'-Death carries its code). */
export interface NtpAnswerDetail extends EventDetail {
  readonly version: number
  readonly stratum: number
  readonly leap: number
  readonly referenceId: string
  readonly offsetMs: number
  readonly transmitTimestamp: string
  readonly originTimestamp: string
  readonly bytes: number
  readonly kiss?: string
}

/** The journal events of the NTP double, each with the detail written with it. */
export interface NtpEvents extends BaseEvents<'ntp'> {
  readonly 'ntp:request': NtpRequestDetail
  readonly 'ntp:response': NtpAnswerDetail | GarbageDetail
  readonly 'ntp:ignored': { readonly reason: string }
  readonly 'ntp:malformed': MalformedDetail
}

export const classifyNtp: EventClassifier = (event) => {
  const e = event as EventOf<NtpEvents>
  const kiss = e.kind === 'ntp:response' && 'kiss' in e.detail ? e.detail.kiss : undefined
  const ok = !failedAlike(e) && e.kind !== 'ntp:ignored' && kiss === undefined
  return { stage: 'NTP', ok }
}

/** What a phone asks NTP: the version it speaks. */
export const askNtp: AskReader = (e) =>
  e.kind === 'ntp:request' ? `NTPv${detailText(e.detail.version)}` : undefined
