import { LabDecodeError } from '../../core/errors.js'
import { children, parseXml, path, type XmlElement } from '../../core/xml.js'
import type { PhoneContext } from '../context.js'
import type { PhoneSip } from '../sip.js'

const PROVISIONING_TYPE = {
  'vnd-microsoft-provisioning-v2': 'application/vnd-microsoft-roaming-provisioning-v2+xml',
  'vnd-microsoft-provisioning': 'application/vnd-microsoft-roaming-provisioning+xml',
} as const
const SELF_TYPE = 'application/vnd-microsoft-roaming-self+xml'

/** The groups the phone asks for in the v2 SUBSCRIBE's body (spec §2.8, S18). */
const GROUP_LIST =
  '<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist">' +
  '<provisioningGroup name="ServerConfiguration"/><provisioningGroup name="meetingPolicy"/>' +
  '<provisioningGroup name="ucPolicy"/></provisioningGroupList>'

/** What the phone roams: its own categories (S23). */
const ROAMING_LIST =
  '<roamingList xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self">' +
  '<roaming type="categories"/><roaming type="containers"/><roaming type="subscribers"/></roamingList>'

/**
 * The settings of a v2 document, read as Communicator reads them (sipe's `sipe_process_provisioning_v2`):
 * ServerConfiguration's as the group's child elements ([MS-SIPREGE] §2.2.2.5.1), other groups' as
 * `propertyEntryList/property`. A ServerConfiguration that carries a propertyEntryList instead teaches the
 * phone nothing — as on a real phone.
 */
function provisionGroups(doc: XmlElement | undefined): Record<string, string> {
  const props: Record<string, string> = {}
  for (const grp of children(doc, 'provisionGroup')) {
    if (grp.attrs.name === 'ServerConfiguration') {
      for (const c of grp.children) if (c.name !== 'propertyEntryList') props[c.name] = c.text
    } else
      for (const p of children(path(grp, 'propertyEntryList'), 'property')) props[p.attrs.name ?? ''] = p.text
  }
  return props
}

/** What in-band provisioning told the phone (property name → value). */
export type Provisioned = Readonly<Record<string, string>>

/**
 * Whether the phone uses Exchange (spec §4.1, S29): only for a user enabled for Enterprise Voice and for UM —
 * userProperties' telephonyMode Uc or Dual, and exumEnabled's bit 0x1 (its types in OCS 2007 R2's schema). A
 * server that sends neither (OCS 2007) leaves it on.
 */
export function usesExchange(props: Provisioned): boolean {
  const mode = props.telephonyMode?.toLowerCase()
  const voice = mode === undefined || mode === 'uc' || mode === 'dual'
  const um = props.exumEnabled === undefined || (Number(props.exumEnabled) & 1) === 1
  return voice && um
}

/**
 * §2.8: SUBSCRIBE to the provisioning package (v2 or v1 by guess), then to the self categories; where the
 * e-mail travels is a GUESS, so both are read. The pool connection stays open (the phone lives on it).
 */
export async function provisioningStage(ctx: PhoneContext, sip: PhoneSip): Promise<Provisioned> {
  const v2 = ctx.guesses.provisioning === 'v2'
  const event = v2 ? 'vnd-microsoft-provisioning-v2' : 'vnd-microsoft-provisioning'
  const prov = await sip.request(
    'SUBSCRIBE',
    [`Event: ${event}`, `Accept: ${PROVISIONING_TYPE[event]}`, 'Expires: 0'],
    ctx.timeoutMs,
    v2 ? { type: PROVISIONING_TYPE[event], text: GROUP_LIST } : undefined,
  )
  const self = await sip.request(
    'SUBSCRIBE',
    ['Event: vnd-microsoft-roaming-self', `Accept: ${SELF_TYPE}`, 'Expires: 0'],
    ctx.timeoutMs,
    { type: SELF_TYPE, text: ROAMING_LIST },
  )
  const props: Record<string, string> = {}
  try {
    const doc = prov?.status === 200 && prov.body.length > 0 ? parseXml(prov.body.toString()) : undefined
    Object.assign(props, provisionGroups(doc))
    // v1: <provision><serverConfiguration><name>value</name>…, the settings its children.
    for (const sc of children(doc, 'serverConfiguration')) for (const c of sc.children) props[c.name] = c.text
    // Exchange UM enablement is read where S23 shows it — the user's userProperties — and nowhere else.
    delete props.exumEnabled
    const selfDoc = self?.status === 200 && self.body.length > 0 ? parseXml(self.body.toString()) : undefined
    for (const cat of children(path(selfDoc, 'categories'), 'category')) {
      const email = path(cat, 'contactCard', 'identity', 'email')?.text
      if (email) props.primaryEmailAddress ??= email
      const um = path(cat, 'userProperties', 'exumEnabled')?.text
      if (um) props.exumEnabled = um
      const mode = path(cat, 'userProperties', 'telephonyMode')?.text
      if (mode) props.telephonyMode = mode
    }
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
  }
  ctx.step(
    'provisioning',
    prov?.status === 200,
    `${event} → ${prov?.status ?? 'no answer'}; e-mail ${props.primaryEmailAddress ?? 'none'}, DUS ${props.updatesServerInternalUrl || 'none'}`,
  )
  ctx.learnt.email = props.primaryEmailAddress
  return props
}
