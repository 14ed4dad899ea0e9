import { createHash } from 'node:crypto'
import { LabDecodeError } from '../../core/errors.js'
import { findUser } from '../../core/auth/http.js'
import type { Site, User } from '../../core/site.js'
import {
  children,
  parseXml,
  path,
  soapRequest,
  x,
  xmlDocument,
  type XmlContent,
  type XmlElement,
  type XmlMarkup,
} from '../../core/xml.js'

/**
 * Exchange 2007 Autodiscover, pure: the POX Outlook provider the CX700 posts to (spec §3.2–3.3; request
 * schema 2006, response schema 2006a; errors 500/600/601 as MS-OXDSCLI lists them) and the SOAP
 * GetUserSettings operation current EWS clients use (MS-OXWSADISC). Given a request body, the scenario and
 * the lab's URLs, it returns what Exchange would answer; the HTTP layer adds status, authentication and faults.
 */

export const NS = {
  poxRequest: 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006',
  poxResponse: 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006',
  outlook2006a: 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a',
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  soapAutodiscover: 'http://schemas.microsoft.com/exchange/2010/Autodiscover',
  wsa: 'http://www.w3.org/2005/08/addressing',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const

export type ProtocolType = 'EXCH' | 'EXPR' | 'WEB'
export type EwsUrlElement = 'ASUrl' | 'EwsUrl'

/** The URLs of the lab's Exchange server (with the lab's HTTPS port when it is not 443). */
export interface ExchangeUrls {
  readonly ews: string
  readonly um: string
  readonly oab: string
  readonly owa: string
}

export interface AutodiscoverContext {
  readonly users: readonly User[]
  readonly site: Site
  /** The Exchange server's host name (the host with the exchange role). */
  readonly server: string
  /** The domain controller's host name. */
  readonly dc: string
  readonly urls: ExchangeUrls
  readonly protocols: readonly ProtocolType[]
  readonly ewsUrlElements: readonly EwsUrlElement[]
  readonly now: Date
  /** A fault answered a response with no Protocol block. */
  readonly noProtocol?: boolean
}

export interface AutodiscoverAnswer {
  readonly xml: string
  /** For the journal: which address was asked about, and the Autodiscover error code if any. */
  readonly address?: string
  readonly user?: User
  readonly error?: string
}

/** Exchange 2007 SP1 (8.1.240): 4 bits 0111, 6 bits major, 6 bits minor, 1, 15 bits build (MS-OXDSCLI). */
export const SERVER_VERSION_HEX = '720180F0'

const organisation = (site: Site): string => site.netbiosName

/** The user's Exchange legacy DN, as Exchange 2007 writes it. */
export function legacyDn(site: Site, user: User): string {
  const local = user.email.split('@')[0]!
  return `/o=${organisation(site)}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=${local}`
}

/** A GUID stable for a site (the DeploymentId). */
function deploymentId(site: Site): string {
  const h = createHash('sha256').update(site.smtpDomain).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`
}

const errorTime = (now: Date): string => now.toISOString().slice(11, 23) + '0000'

/** A POX answer: the response schema 2006 around the Outlook provider's 2006a Response. */
function poxDocument(...content: readonly XmlContent[]): string {
  return xmlDocument(
    x('Autodiscover', { xmlns: NS.poxResponse }, x('Response', { xmlns: NS.outlook2006a }, ...content)),
  )
}

/** The POX Error response (MS-OXDSCLI 2.2.4.1.1.3), in the Outlook response schema. */
export function poxError(code: 500 | 501 | 600 | 601 | 603, message: string, now: Date): string {
  return poxDocument(
    x(
      'Error',
      { Time: errorTime(now), Id: String(Math.floor(now.getTime() / 1000) % 4_294_967_295) },
      x('ErrorCode', {}, code),
      x('Message', {}, message),
      x('DebugData'),
    ),
  )
}

/** Answers a POX Autodiscover request body. */
export function poxAutodiscover(body: string | XmlElement, ctx: AutodiscoverContext): AutodiscoverAnswer {
  let root: XmlElement
  try {
    root = typeof body === 'string' ? parseXml(body) : body
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return { xml: poxError(600, 'Invalid Request', ctx.now), error: `600 ${err.message}` }
  }
  const request = root.name === 'Autodiscover' ? path(root, 'Request') : undefined
  const address = path(request, 'EMailAddress')?.text ?? ''
  const legacy = path(request, 'LegacyDN')?.text ?? ''
  const schema = path(request, 'AcceptableResponseSchema')?.text ?? ''
  if (!request || (address === '' && legacy === ''))
    return {
      xml: poxError(600, 'Invalid Request', ctx.now),
      error: '600 no Autodiscover/Request/EMailAddress or LegacyDN',
    }
  if (schema !== NS.outlook2006a)
    return {
      xml: poxError(601, 'Provider is not available', ctx.now),
      address,
      error: `601 response schema "${schema}" not served (only the Outlook 2006a schema)`,
    }
  // If both are sent the server uses LegacyDN (spec §3.2).
  const user =
    legacy !== ''
      ? ctx.users.find((u) => legacyDn(ctx.site, u).toLowerCase() === legacy.toLowerCase())
      : ctx.users.find((u) => u.email === address.toLowerCase() || u.signInAddress === address.toLowerCase())
  const asked = legacy !== '' ? legacy : address
  if (!user)
    return {
      xml: poxError(500, 'The e-mail address cannot be found.', ctx.now),
      address: asked,
      error: '500 unknown address',
    }
  return { xml: poxSettings(user, ctx), address: asked, user }
}

/**
 * The settings documents already written, per user and per everything else they say: a mailbox's answer is
 * the same from one request to the next until the scenario changes (a changed user is a new object; a new
 * URL, port or protocol list is a new key). Rendering one took ~25 µs, half of answering a request.
 */
const rendered = new WeakMap<User, Map<string, string>>()

function settingsKey(ctx: AutodiscoverContext): string {
  const { urls, site } = ctx
  return [
    ctx.server,
    urls.ews,
    urls.um,
    urls.oab,
    urls.owa,
    ctx.protocols.join(),
    ctx.ewsUrlElements.join(),
    ctx.noProtocol === true,
    site.netbiosName,
    site.smtpDomain,
  ].join('\n')
}

function poxSettings(user: User, ctx: AutodiscoverContext): string {
  const key = settingsKey(ctx)
  let byKey = rendered.get(user)
  const kept = byKey?.get(key)
  if (kept !== undefined) return kept
  const xml = renderPoxSettings(user, ctx)
  if (!byKey) rendered.set(user, (byKey = new Map<string, string>()))
  if (byKey.size >= 8) byKey.clear() // a lab switching ports or protocols to and fro keeps a few, not all
  byKey.set(key, xml)
  return xml
}

function renderPoxSettings(user: User, ctx: AutodiscoverContext): string {
  const { site, urls } = ctx
  const short = ctx.server.split('.')[0]!.toUpperCase()
  const org = `/o=${organisation(site)}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)`
  const ewsUrls = ctx.ewsUrlElements.map((e) => x(e, {}, urls.ews))
  const urlSet = [ewsUrls, x('OOFUrl', {}, urls.ews), x('UMUrl', {}, urls.um), x('OABUrl', {}, urls.oab)]
  const protocol = (type: ProtocolType): XmlMarkup => {
    switch (type) {
      case 'EXCH':
        return x(
          'Protocol',
          {},
          x('Type', {}, 'EXCH'),
          x('Server', {}, short),
          x('ServerDN', {}, `${org}/cn=Configuration/cn=Servers/cn=${short}`),
          x('ServerVersion', {}, SERVER_VERSION_HEX),
          x('MdbDN', {}, `${org}/cn=Configuration/cn=Servers/cn=${short}/cn=Microsoft Private MDB`),
          urlSet,
        )
      case 'EXPR':
        return x(
          'Protocol',
          {},
          x('Type', {}, 'EXPR'),
          x('Server', {}, ctx.server),
          x('SSL', {}, 'On'),
          x('AuthPackage', {}, 'Ntlm'),
          x('ServerVersion', {}, SERVER_VERSION_HEX),
          urlSet,
        )
      case 'WEB':
        return x(
          'Protocol',
          {},
          x('Type', {}, 'WEB'),
          x('Internal', {}, x('OWAUrl', { AuthenticationMethod: 'Ntlm' }, urls.owa)),
        )
    }
  }
  return poxDocument(
    x(
      'User',
      {},
      x('DisplayName', {}, user.displayName),
      x('LegacyDN', {}, legacyDn(site, user)),
      x('DeploymentId', {}, deploymentId(site)),
    ),
    x(
      'Account',
      {},
      x('AccountType', {}, 'email'),
      x('Action', {}, 'settings'),
      ctx.noProtocol ? undefined : ctx.protocols.map(protocol),
    ),
  )
}

/** The user settings the lab can answer in GetUserSettings (MS-OXWSADISC UserSettingName). */
function userSetting(name: string, user: User, ctx: AutodiscoverContext): string | undefined {
  const short = ctx.server.split('.')[0]!.toUpperCase()
  switch (name) {
    case 'UserDisplayName':
      return user.displayName
    case 'UserDN':
      return legacyDn(ctx.site, user)
    case 'UserDeploymentId':
      return deploymentId(ctx.site)
    case 'InternalMailboxServer':
    case 'ExternalMailboxServer':
      return ctx.server
    case 'InternalMailboxServerDN':
      return `/o=${organisation(ctx.site)}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=${short}`
    case 'ActiveDirectoryServer':
      return ctx.dc
    case 'CasVersion':
      return 'Exchange2007_SP1'
    case 'EwsSupportedSchemas':
      return 'Exchange2007, Exchange2007_SP1'
    case 'InternalEwsUrl':
    case 'ExternalEwsUrl':
      return ctx.urls.ews
    case 'InternalUMUrl':
      return ctx.urls.um
    case 'InternalOABUrl':
    case 'ExternalOABUrl':
      return ctx.urls.oab
    case 'InternalWebClientUrls':
    case 'ExternalWebClientUrls':
      return undefined
    default:
      return undefined
  }
}

export interface SoapAnswer extends AutodiscoverAnswer {
  /** HTTP status: 200, or 500 for a SOAP fault (as SOAP 1.1 over HTTP requires). */
  readonly status: 200 | 500
  readonly operation: string
}

/** A SOAP 1.1 fault. */
export function soapFault(code: 'soap:Client' | 'soap:Server', message: string, detail?: XmlContent): string {
  return xmlDocument(
    x(
      'soap:Envelope',
      { 'xmlns:soap': NS.soap },
      x(
        'soap:Body',
        {},
        x(
          'soap:Fault',
          {},
          x('faultcode', {}, code),
          x('faultstring', { 'xml:lang': 'en-US' }, message),
          detail !== undefined ? x('detail', {}, detail) : undefined,
        ),
      ),
    ),
  )
}

/** A UserResponse for an address no user has. */
const invalidUser = (mailbox: string): XmlMarkup =>
  x(
    'UserResponse',
    {},
    x('ErrorCode', {}, 'InvalidUser'),
    x('ErrorMessage', {}, `Invalid user: '${mailbox}'`),
    x('RedirectTarget', { 'i:nil': 'true' }),
    x('UserSettingErrors'),
    x('UserSettings'),
  )

/** A user's UserResponse: each requested setting as a value, or as SettingIsNotAvailable. */
function userResponse(user: User, settings: readonly string[], ctx: AutodiscoverContext): XmlMarkup {
  const values: XmlMarkup[] = []
  const errors: XmlMarkup[] = []
  for (const name of settings) {
    const value = userSetting(name, user, ctx)
    if (value === undefined)
      errors.push(
        x(
          'UserSettingError',
          {},
          x('ErrorCode', {}, 'SettingIsNotAvailable'),
          x('ErrorMessage', {}, 'User setting is not available.'),
          x('SettingName', {}, name),
        ),
      )
    else
      values.push(x('UserSetting', { 'i:type': 'StringSetting' }, x('Name', {}, name), x('Value', {}, value)))
  }
  return x(
    'UserResponse',
    {},
    x('ErrorCode', {}, 'NoError'),
    x('ErrorMessage', {}, 'No error.'),
    x('RedirectTarget', { 'i:nil': 'true' }),
    x('UserSettingErrors', {}, errors),
    x('UserSettings', {}, values),
  )
}

/** The GetUserSettingsResponse envelope around the user responses, as Exchange 2007 SP1 signs it. */
function getUserSettingsEnvelope(users: readonly XmlMarkup[]): string {
  return xmlDocument(
    x(
      's:Envelope',
      { 'xmlns:s': NS.soap, 'xmlns:a': NS.wsa },
      x(
        's:Header',
        {},
        x(
          'a:Action',
          { 's:mustUnderstand': '1' },
          'http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse',
        ),
        x(
          'h:ServerVersionInfo',
          { 'xmlns:h': NS.soapAutodiscover, 'xmlns:i': NS.xsi },
          x('h:MajorVersion', {}, 8),
          x('h:MinorVersion', {}, 1),
          x('h:MajorBuildNumber', {}, 240),
          x('h:MinorBuildNumber', {}, 6),
          x('h:Version', {}, 'Exchange2007_SP1'),
        ),
      ),
      x(
        's:Body',
        {},
        x(
          'GetUserSettingsResponseMessage',
          { xmlns: NS.soapAutodiscover },
          x(
            'Response',
            { 'xmlns:i': NS.xsi },
            x('ErrorCode', {}, 'NoError'),
            x('ErrorMessage'),
            x('UserResponses', {}, [...users]),
          ),
        ),
      ),
    ),
  )
}

/** Answers a SOAP Autodiscover request (GetUserSettings; anything else is a SOAP fault). */
export function soapAutodiscover(body: string | XmlElement, ctx: AutodiscoverContext): SoapAnswer {
  const soap = soapRequest(body)
  if (!('op' in soap))
    return { status: 500, operation: '-', xml: soapFault('soap:Client', soap.problem), error: soap.problem }
  const { op } = soap
  if (op.name !== 'GetUserSettingsRequestMessage')
    return {
      status: 500,
      operation: op.name,
      xml: soapFault(
        'soap:Client',
        `The lab's Autodiscover service answers GetUserSettings only, not ${op.name}.`,
      ),
      error: `unsupported operation ${op.name}`,
    }
  const request = path(op, 'Request')
  const mailboxes = children(path(request, 'Users'), 'User').map((u) => path(u, 'Mailbox')?.text ?? '')
  const settings = children(path(request, 'RequestedSettings'), 'Setting').map((s) => s.text)
  const found = mailboxes.map((m) => ({ mailbox: m, user: findUser(ctx.users, m) }))
  const users = found.map(({ mailbox, user }) =>
    user ? userResponse(user, settings, ctx) : invalidUser(mailbox),
  )
  const first = found.find((f) => f.user)?.user
  return {
    status: 200,
    operation: 'GetUserSettings',
    xml: getUserSettingsEnvelope(users),
    ...(mailboxes[0] !== undefined ? { address: mailboxes[0] } : {}),
    ...(first ? { user: first } : {}),
    ...(users.length > 0 && !first ? { error: 'InvalidUser' } : {}),
  }
}
