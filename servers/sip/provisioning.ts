import type { Site, User } from '../../core/site.js'
import { x, xmlDocument, type XmlMarkup } from '../../core/xml.js'

/**
 * The bodies of OCS 2007 R2 in-band provisioning (spec §2.8), pure: the ServerConfiguration group of
 * `vnd-microsoft-provisioning-v2` (and the legacy `vnd-microsoft-provisioning` document), and the self
 * categories of `vnd-microsoft-roaming-self` (contactCard with the primary e-mail, userProperties with the
 * Exchange UM flag). Names and shape follow [MS-SIPREGE] §2.2.2.5; a scenario can add or override any
 * ServerConfiguration setting.
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

/**
 * ServerConfiguration's settings and the userSetting group, in that order. The names are [MS-SIPREGE]
 * §2.2.2.5.1's (the PIN, timeout and QoS policy of Phone Edition among them: one group, not a ucPolicy group
 * of its own); `poolFqdn`, `sipServerInternalUrl` and `sipDomain` are the lab's additions, which a client
 * that does not know them skips (the schema's xs:any).
 */
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
    ['voiceMailUri', p.user.umEnabled ? `sip:${p.user.signInAddress};opaque=app:voicemail` : ''],
    // exumEnabled travels in the user's own userProperties category (S23), not here.
    ['ucExchangeMWIPoll', '3'],
    ['ucEnforcePinLock', 'false'],
    ['ucMinPinLength', '6'],
    ['ucPhoneTimeOut', '10'],
    ['ucDiffServVoice', '40'],
    ['ucVoice802_1p', '5'],
  ]
  const known = new Set(server.map(([k]) => k))
  const extra = Object.entries(p.properties).filter(([k]) => !known.has(k))
  const groups = [
    {
      group: 'ServerConfiguration',
      properties: [...server.map(([k, v]): [string, string] => [k, p.properties[k] ?? v]), ...extra],
    },
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

/**
 * The 200 OK body for `Event: vnd-microsoft-provisioning-v2` ([MS-SIPREGE] §2.2.2.5): ServerConfiguration's
 * settings as child elements of its provisionGroup (§2.2.2.5.1, and where sipe's
 * `sipe_process_provisioning_v2` reads them); other groups as a propertyEntryList of named properties, the
 * shape of §4.2.2's endpointConfiguration and meetingPolicy.
 */
export function provisioningV2(p: ProvisioningInput): string {
  const groups = p.empty ? [] : provisioningProperties(p)
  return xmlDocument(
    x(
      'provisionGroupList',
      { xmlns: NS_V2 },
      groups.map((g) =>
        g.group === 'ServerConfiguration'
          ? x(
              'provisionGroup',
              { name: g.group },
              g.properties.map(([k, v]) => x(k, {}, v)),
            )
          : x(
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
            // OCS 2007 R2's types: telephonyMode a token (None, RCC, Uc, Dual); exumEnabled bit flags, 0x1 on.
            x('telephonyMode', {}, user.enterpriseVoice ? 'Uc' : 'None'),
            x('exumEnabled', {}, user.umEnabled ? 1 : 0),
          ),
        ),
      ),
      x('containers'),
      x('subscribers'),
    ),
  )
}
