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

/** A name service request as the WINS double read it. */
export interface NetbiosRequestDetail extends EventDetail {
  readonly id: number
  readonly opcode: string
  readonly name: string
  readonly broadcast: boolean
  readonly bytes: number
}

/** The detail of a `netbios:response`: the name asked and the RCODE (RFC 1002 names) answered. */
export interface NetbiosAnswerDetail extends EventDetail {
  readonly id: number
  readonly opcode: string
  readonly name: string
  readonly rcode: string
  readonly addresses: readonly string[]
  readonly bytes: number
}

/** The journal events of the WINS double, each with the detail written with it. */
export interface NetbiosEvents extends BaseEvents<'netbios'> {
  readonly 'netbios:request': NetbiosRequestDetail
  readonly 'netbios:response': NetbiosAnswerDetail | GarbageDetail
  readonly 'netbios:ignored': { readonly reason: string; readonly name: string }
  readonly 'netbios:malformed': MalformedDetail
}

/** A WINS lookup is how a phone offered WINS locates its domain controller (spec §2.4): DC/LDAP stage. */
export const classifyNetbios: EventClassifier = (event) => {
  const e = event as EventOf<NetbiosEvents>
  const rcode = e.kind === 'netbios:response' && 'rcode' in e.detail ? e.detail.rcode : undefined
  const ok = !failedAlike(e) && e.kind !== 'netbios:ignored' && (rcode === undefined || rcode === 'ok')
  return { stage: 'DC/LDAP', ok }
}

/** What a phone asks WINS: the operation and the name. */
export const askNetbios: AskReader = (e) =>
  e.kind === 'netbios:request' ? `${detailText(e.detail.opcode)} ${detailText(e.detail.name)}` : undefined
