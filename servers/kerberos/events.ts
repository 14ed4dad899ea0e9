import {
  failedAlike,
  type EventClassifier,
  type EventDetail,
  type EventOf,
  type MalformedDetail,
  type AskReader,
  detailList,
  detailText,
  type BaseEvents,
} from '../../core/journal/events.js'

type Transport = 'udp' | 'tcp'

/** An AS-REQ or TGS-REQ as the KDC read it: who asked for which service, and the etypes offered. */
export interface KerberosRequestDetail extends EventDetail {
  readonly msg: 'AS' | 'TGS'
  readonly principal: string
  readonly service: string
  readonly offered: readonly string[]
  readonly transport: Transport
}

/** A KDC answer to a request: the etype chosen, or the KRB-ERROR. */
export interface KerberosAnswerDetail extends KerberosRequestDetail {
  readonly chosen?: string | undefined
  readonly error?: string
  readonly bytes: number
}

/** A KDC answer, or a TCP message refused for its length before it was read. */
export type KerberosResponseDetail =
  KerberosAnswerDetail | { readonly error: 'KRB_ERR_FIELD_TOOLONG'; readonly bytes: number }

/** The journal events of the KDC double, each with the detail written with it. */
export interface KerberosEvents extends BaseEvents<'kerberos'> {
  readonly 'kerberos:request': KerberosRequestDetail
  readonly 'kerberos:response': KerberosResponseDetail
  readonly 'kerberos:malformed': MalformedDetail & { readonly transport: Transport }
}

/**
 * The KDC's lane of the boot. A KDC_ERR_PREAUTH_REQUIRED is how every AS exchange starts (the client learns
 * the salt), so it does not count as a failure.
 */
export const classifyKerberos: EventClassifier = (event) => {
  const e = event as EventOf<KerberosEvents>
  const error = e.kind === 'kerberos:response' ? e.detail.error : undefined
  const ok = !failedAlike(e) && (error === undefined || error === 'KDC_ERR_PREAUTH_REQUIRED')
  return { stage: 'Kerberos', ok }
}

/** What a phone asks the KDC: AS or TGS, for which service, with which etypes. */
export const askKerberos: AskReader = (e) =>
  e.kind === 'kerberos:request'
    ? `${detailText(e.detail.msg)}-REQ ${detailText(e.detail.service)} (${detailList(e.detail.offered)})`
    : undefined
