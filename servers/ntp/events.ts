import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type ServerEvent,
} from '../../core/journal/events.js'

/** The journal events of the NTP double. */
export type NtpEventKind = 'ntp:request' | 'ntp:response' | 'ntp:ignored' | 'ntp:malformed' | 'ntp:failed'

/** The detail of an `ntp:response` (a Kiss-o'-Death carries its code). */
export interface NtpResponseDetail extends EventDetail {
  readonly version?: number
  readonly stratum?: number
  readonly offsetMs?: number
  readonly kiss?: string
}

export const classifyNtp: EventClassifier = (event) => {
  const e = event as ServerEvent<NtpEventKind, NtpResponseDetail>
  const ok = !failedAlike(e) && e.kind !== 'ntp:ignored' && e.detail.kiss === undefined
  return { stage: 'NTP', ok }
}
