import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type ServerEvent,
  type AskReader,
  detailList,
  detailText,
} from '../../core/journal/events.js'

/** The journal events of the DHCP double. */
export type DhcpEventKind =
  'dhcp:request' | 'dhcp:reply' | 'dhcp:malformed' | 'dhcp:failed' | 'dhcp:disabled' | 'dhcp:rogue-check'

/** The detail of a `dhcp:reply`: its message type, or none when the lab did not answer. */
export interface DhcpReplyDetail extends EventDetail {
  readonly mac: string
  readonly xid: string
  readonly type?: string
  readonly yiaddr?: string
  readonly note?: string
}

export const classifyDhcp: EventClassifier = (event) => {
  const e = event as ServerEvent<DhcpEventKind, DhcpReplyDetail>
  if (e.kind === 'dhcp:request') return { stage: 'DHCP', ok: true }
  if (e.kind !== 'dhcp:reply') return undefined
  return { stage: 'DHCP', ok: !failedAlike(e) }
}

/** What a phone asks DHCP: the message type and its parameter request list. */
export const askDhcp: AskReader = (e) =>
  e.kind === 'dhcp:request'
    ? `${detailText(e.detail.type)} asks ${detailList(e.detail.parameterList)}`
    : undefined
