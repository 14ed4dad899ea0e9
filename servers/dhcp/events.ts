import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type EventOf,
  type AskReader,
  detailList,
  detailText,
  type BaseEvents,
} from '../../core/journal/events.js'

/** A client message as the server read it. */
export interface DhcpRequestDetail extends EventDetail {
  readonly type: string
  readonly mac: string
  readonly xid: string
  readonly ciaddr: string
  readonly giaddr: string
  /** Option 55, the options the client asked for. */
  readonly parameterList: readonly number[]
  readonly vendorClass?: string
  readonly requested?: string | undefined
  readonly serverId?: string | undefined
}

/** The detail of a `dhcp:reply`: its message type, or none when the lab did not answer. */
export interface DhcpReplyDetail extends EventDetail {
  readonly mac: string
  readonly xid: string
  readonly type?: string
  readonly yiaddr?: string
  /** Where it went: relay, unicast or broadcast, address:port. */
  readonly to?: string
  readonly options?: Readonly<Record<string, string>>
  /** What the behaviour decided, or why nothing was sent. */
  readonly note?: string
}

/** The journal events of the DHCP double, each with the detail written with it. */
export interface DhcpEvents extends BaseEvents<'dhcp'> {
  readonly 'dhcp:request': DhcpRequestDetail
  readonly 'dhcp:reply': DhcpReplyDetail
  readonly 'dhcp:malformed': { readonly bytes: number; readonly error: string }
  readonly 'dhcp:disabled': { readonly mode: string }
  readonly 'dhcp:rogue-check': { readonly interface: string; readonly offers: readonly string[] }
}

export const classifyDhcp: EventClassifier = (event) => {
  const e = event as EventOf<DhcpEvents>
  if (e.kind === 'dhcp:request') return { stage: 'DHCP', ok: true }
  if (e.kind !== 'dhcp:reply') return undefined
  return { stage: 'DHCP', ok: !failedAlike(e) }
}

/** What a phone asks DHCP: the message type and its parameter request list. */
export const askDhcp: AskReader = (e) =>
  e.kind === 'dhcp:request'
    ? `${detailText(e.detail.type)} asks ${detailList(e.detail.parameterList)}`
    : undefined
