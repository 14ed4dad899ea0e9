import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type ServerEvent,
} from '../../core/journal/events.js'

/** The journal events of the WINS double. */
export type NetbiosEventKind =
  'netbios:request' | 'netbios:response' | 'netbios:ignored' | 'netbios:malformed' | 'netbios:failed'

/** The detail of a `netbios:response`: the name asked and the RCODE (RFC 1002 names) answered. */
export interface NetbiosResponseDetail extends EventDetail {
  readonly name?: string
  readonly opcode?: string
  readonly rcode?: string
  readonly addresses?: readonly string[]
}

/** A WINS lookup is how a phone offered WINS locates its domain controller (spec §2.4): DC/LDAP stage. */
export const classifyNetbios: EventClassifier = (event) => {
  const e = event as ServerEvent<NetbiosEventKind, NetbiosResponseDetail>
  const rcode = e.detail.rcode
  const ok = !failedAlike(e) && e.kind !== 'netbios:ignored' && (rcode === undefined || rcode === 'ok')
  return { stage: 'DC/LDAP', ok }
}
