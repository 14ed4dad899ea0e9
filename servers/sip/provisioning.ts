import type { Site, User } from '../../core/site.js'
import { x, xmlDocument, type XmlMarkup } from '../../core/xml.js'

/**
 * The bodies of OCS 2007 R2 in-band provisioning (spec §2.8), pure: the ServerConfiguration group of
 * `vnd-microsoft-provisioning-v2` (and the legacy `vnd-microsoft-provisioning` document), and the self
 * categories of `vnd-microsoft-roaming-self` (contactCard with the primary e-mail, userProperties with the
 * Exchange UM flag). Property names follow the Lync-era dumps the spec cites; for R2 they are a GUESS, so
 * a scenario can add or override any of them.
 */

export interface ProvisioningInput {
  readonly site: Site
  readonly user: User
  /** The pool's name. */
  readonly pool: string
  /** Device Update Service URLs; undefined when the scenario leaves them blank. */
  readonly dus?: { readonly internal: string; readonly external: string }
  /** Address Book Server URLs. */
  readonly abs: { readonly internal: string; readonly external: string }
  readonly emailInProvisioning: boolean
  readonly properties: Readonly<Record<string, string>>
  /** A fault: no groups at all. */
  readonly empty?: boolean
}

/** ServerConfiguration, ucPolicy and userSetting properties, in that order. */
export function provisioningProperties(
  p: ProvisioningInput,
): { group: string; properties: [string, string][] }[] {
  const server: [string, string][] = [
    ['poolFqdn', p.pool],
    ['sipServerInternalUrl', `sip:${p.pool}:5061;transport=tls`],
    ['absInternalServerUrl', p.abs.internal],
    ['absExternalServerUrl', p.abs.external],
    ['updatesServerInternalUrl', p.dus?.internal ?? ''],
    ['updatesServerExternalUrl', p.dus?.external ?? ''],
    ['updatesServerEnabled', String(p.dus !== undefined)],
    ['sipDomain', p.site.sipDomain],
    ['voicemailUri', p.user.umEnabled ? `sip:${p.user.signInAddress};opaque=app:voicemail` : ''],
    // exumEnabled travels in the user's own userProperties category (S23), not here.
    ['ucExchangeMwiPoll', '3'],
  ]
  const policy: [string, string][] = [
    ['ucEnforcePinLock', 'false'],
    ['ucMinPinLength', '6'],
    ['ucPhoneTimeout', '10'],
    ['ucDiffServVoice', '40'],
    ['ucVoice802_1p', '5'],
  ]
  const overridden = (list: [string, string][]): [string, string][] =>
    list.map(([k, v]) => [k, p.properties[k] ?? v])
  const known = new Set([...server, ...policy].map(([k]) => k))
  const extra = Object.entries(p.properties).filter(([k]) => !known.has(k))
  const groups = [
    { group: 'ServerConfiguration', properties: [...overridden(server), ...extra] },
    { group: 'ucPolicy', properties: overridden(policy) },
  ]
  if (p.emailInProvisioning)
    groups.push({
      group: 'userSetting',
      properties: [
        ['primaryEmailAddress', p.user.email],
        ['displayName', p.user.displayName],
      ],
    })
  return groups
}

const NS_V2 = 'http://schemas.microsoft.com/2006/09/sip/provisiongrouplist-notification'

/** The 200 OK body for `Event: vnd-microsoft-provisioning-v2`. */
export function provisioningV2(p: ProvisioningInput): string {
  const groups = p.empty ? [] : provisioningProperties(p)
  return xmlDocument(
    x(
      'provisionGroupList',
      { xmlns: NS_V2 },
      groups.map((g) =>
        x(
          'provisionGroup',
          { name: g.group },
          x(
            'propertyEntryList',
            {},
            g.properties.map(([k, v]) => x('property', { name: k }, v)),
          ),
        ),
      ),
    ),
  )
}

/** The 200 OK body for the legacy `Event: vnd-microsoft-provisioning` (OCS 2005/2007 style). */
export function provisioningV1(p: ProvisioningInput): string {
  const groups = p.empty ? [] : provisioningProperties(p)
  return xmlDocument(
    x(
      'provision',
      { xmlns: 'http://schemas.microsoft.com/2006/09/sip/provisioning', version: '3.0' },
      p.empty
        ? undefined
        : x(
            'user',
            { uri: `sip:${p.user.signInAddress}`, displayName: p.user.displayName },
            p.emailInProvisioning ? x('email', {}, p.user.email) : undefined,
          ),
      groups
        .filter((g) => g.group !== 'userSetting')
        .map((g) =>
          x(
            g.group === 'ServerConfiguration' ? 'serverConfiguration' : g.group,
            {},
            g.properties.map(([k, v]) => x(k, {}, v)),
          ),
        ),
    ),
  )
}

/** The 200 OK body for `Event: vnd-microsoft-roaming-self`: the user's own categories. */
export function roamingSelf(user: User, withEmail: boolean, publishTime: Date): string {
  const category = (name: string, body: XmlMarkup): XmlMarkup =>
    x(
      'category',
      {
        name,
        instance: 0,
        publishTime: publishTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        container: 2,
        version: 1,
        expireType: 'static',
      },
      body,
    )
  return xmlDocument(
    x(
      'roamingData',
      { xmlns: 'http://schemas.microsoft.com/2006/09/sip/roaming-self' },
      x(
        'categories',
        {},
        category(
          'contactCard',
          x(
            'contactCard',
            { xmlns: 'http://schemas.microsoft.com/2006/09/sip/contactcard' },
            x(
              'identity',
              {},
              x('name', {}, x('displayName', {}, user.displayName)),
              withEmail ? x('email', {}, user.email) : undefined,
            ),
          ),
        ),
        category(
          'userProperties',
          x(
            'userProperties',
            { xmlns: 'http://schemas.microsoft.com/2006/09/sip/userproperties' },
            x('telephonyMode', {}, 'Uc'),
            x('exumEnabled', {}, user.umEnabled),
          ),
        ),
      ),
      x('containers'),
      x('subscribers'),
    ),
  )
}
