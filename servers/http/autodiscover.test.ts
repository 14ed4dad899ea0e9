import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import {
  NS,
  SERVER_VERSION_HEX,
  legacyDn,
  poxAutodiscover,
  soapAutodiscover,
  type AutodiscoverContext,
} from './autodiscover.js'
import { children, parseXml, path } from '../../core/xml.js'

const scenario = loadScenario(
  't.yaml',
  `version: 1
name: t
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - { signInAddress: alice@contoso.test, password: pw1, displayName: Alice Anders }
  - { signInAddress: bob@contoso.test, password: pw2, email: robert@mail.contoso.test }
`,
)
const ctx = (over: Partial<AutodiscoverContext> = {}): AutodiscoverContext => ({
  users: scenario.users,
  site: scenario.site,
  server: 'mail.contoso.test',
  dc: 'dc1.corp.contoso.test',
  urls: {
    ews: 'https://mail.contoso.test/EWS/Exchange.asmx',
    um: 'https://mail.contoso.test/UnifiedMessaging/Service.asmx',
    oab: 'https://mail.contoso.test/OAB/contoso.test/',
    owa: 'https://mail.contoso.test/owa/',
  },
  protocols: ['EXCH', 'EXPR', 'WEB'],
  ewsUrlElements: ['ASUrl', 'EwsUrl'],
  now: new Date('2026-11-25T10:00:00Z'),
  ...over,
})

/** The request Outlook 2007 posts (spec §3.2). */
const outlook = (address: string, schema: string = NS.outlook2006a): string =>
  `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="${NS.poxRequest}">
  <Request>
    <EMailAddress>${address}</EMailAddress>
    <AcceptableResponseSchema>${schema}</AcceptableResponseSchema>
  </Request>
</Autodiscover>`

describe('POX Autodiscover (Outlook provider)', () => {
  it('answers a mailbox the same each time, and anew once anything it says changes', () => {
    const answer = (c: AutodiscoverContext): string => poxAutodiscover(outlook('alice@contoso.test'), c).xml
    const first = answer(ctx())
    expect(answer(ctx())).toBe(first)
    const ews = (xml: string): string | undefined =>
      path(parseXml(xml), 'Response', 'Account', 'Protocol', 'EwsUrl')?.text
    expect(
      ews(answer(ctx({ urls: { ...ctx().urls, ews: 'https://mail.contoso.test:8443/EWS/Exchange.asmx' } }))),
    ).toBe('https://mail.contoso.test:8443/EWS/Exchange.asmx')
    expect(answer(ctx({ protocols: ['EXCH'] }))).not.toBe(first)
    const renamed = { ...scenario.users[0]!, displayName: 'Alice Renamed' }
    const xml = poxAutodiscover(outlook('alice@contoso.test'), ctx({ users: [renamed] })).xml
    expect(path(parseXml(xml), 'Response', 'User', 'DisplayName')?.text).toBe('Alice Renamed')
    expect(answer(ctx())).toBe(first)
  })

  it('answers a user with EXCH, EXPR and WEB blocks carrying ASUrl, EwsUrl, OOFUrl, UMUrl and OABUrl', () => {
    const a = poxAutodiscover(outlook('Alice@Contoso.test'), ctx())
    expect(a.user?.signInAddress).toBe('alice@contoso.test')
    const root = parseXml(a.xml)
    const response = path(root, 'Response')!
    expect(path(response, 'User', 'DisplayName')?.text).toBe('Alice Anders')
    expect(path(response, 'User', 'LegacyDN')?.text).toBe(legacyDn(scenario.site, scenario.users[0]!))
    const account = path(response, 'Account')!
    expect(path(account, 'Action')?.text).toBe('settings')
    const protocols = children(account, 'Protocol')
    expect(protocols.map((p) => path(p, 'Type')?.text)).toEqual(['EXCH', 'EXPR', 'WEB'])
    const exch = protocols[0]!
    for (const e of ['ASUrl', 'EwsUrl', 'OOFUrl'])
      expect(path(exch, e)?.text).toBe('https://mail.contoso.test/EWS/Exchange.asmx')
    expect(path(exch, 'UMUrl')?.text).toBe('https://mail.contoso.test/UnifiedMessaging/Service.asmx')
    expect(path(exch, 'OABUrl')?.text).toBe('https://mail.contoso.test/OAB/contoso.test/')
    expect(path(exch, 'ServerVersion')?.text).toBe(SERVER_VERSION_HEX)
    expect(path(protocols[1], 'Server')?.text).toBe('mail.contoso.test')
    // The namespaces Exchange answers in (the response schema 2006, the Outlook 2006a inside).
    expect(a.xml).toContain(`<Autodiscover xmlns="${NS.poxResponse}"><Response xmlns="${NS.outlook2006a}">`)
  })

  it('finds a user by a primary e-mail that is not the sign-in address, and by LegacyDN (which wins)', () => {
    expect(poxAutodiscover(outlook('robert@mail.contoso.test'), ctx()).user?.signInAddress).toBe(
      'bob@contoso.test',
    )
    const legacy = legacyDn(scenario.site, scenario.users[0]!)
    const both = outlook('robert@mail.contoso.test').replace(
      '<EMailAddress>',
      `<LegacyDN>${legacy}</LegacyDN><EMailAddress>`,
    )
    expect(poxAutodiscover(both, ctx()).user?.signInAddress).toBe('alice@contoso.test')
  })

  it('answers the Error element Exchange returns: 500 unknown address, 600 bad request, 601 other schema', () => {
    const code = (body: string): string | undefined =>
      path(parseXml(poxAutodiscover(body, ctx()).xml), 'Response', 'Error', 'ErrorCode')?.text
    expect(code(outlook('nobody@contoso.test'))).toBe('500')
    expect(poxAutodiscover(outlook('nobody@contoso.test'), ctx()).xml).toContain(
      'The e-mail address cannot be found.',
    )
    expect(code('<Autodiscover><Request/></Autodiscover>')).toBe('600')
    expect(code('<Autodiscover><Request>')).toBe('600')
    expect(code('<!DOCTYPE x [<!ENTITY a "b">]><Autodiscover/>')).toBe('600')
    expect(
      code(
        outlook(
          'alice@contoso.test',
          'http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006',
        ),
      ),
    ).toBe('601')
  })

  it('follows the knobs: Protocol blocks, the EWS URL elements, and the no-Protocol fault', () => {
    const only = parseXml(
      poxAutodiscover(outlook('alice@contoso.test'), ctx({ protocols: ['EXPR'], ewsUrlElements: ['EwsUrl'] }))
        .xml,
    )
    const protocols = children(path(only, 'Response', 'Account'), 'Protocol')
    expect(protocols.map((p) => path(p, 'Type')?.text)).toEqual(['EXPR'])
    expect(path(protocols[0], 'ASUrl')).toBeUndefined()
    expect(path(protocols[0], 'EwsUrl')?.text).toContain('/EWS/Exchange.asmx')
    const none = parseXml(poxAutodiscover(outlook('alice@contoso.test'), ctx({ noProtocol: true })).xml)
    expect(path(none, 'Response', 'Account', 'Action')?.text).toBe('settings')
    expect(children(path(none, 'Response', 'Account'), 'Protocol')).toHaveLength(0)
  })
})

const soap = (mailboxes: string[], settings: string[], op = 'GetUserSettingsRequestMessage'): string =>
  `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:a="${NS.soapAutodiscover}" xmlns:wsa="${NS.wsa}" xmlns:soap="${NS.soap}">
  <soap:Header><a:RequestedServerVersion>Exchange2010</a:RequestedServerVersion></soap:Header>
  <soap:Body><a:${op}><a:Request>
    <a:Users>${mailboxes.map((m) => `<a:User><a:Mailbox>${m}</a:Mailbox></a:User>`).join('')}</a:Users>
    <a:RequestedSettings>${settings.map((s) => `<a:Setting>${s}</a:Setting>`).join('')}</a:RequestedSettings>
  </a:Request></a:${op}></soap:Body></soap:Envelope>`

describe('SOAP Autodiscover (GetUserSettings)', () => {
  it('answers the requested settings per user, and an error per unknown setting or user', () => {
    const a = soapAutodiscover(
      soap(
        ['alice@contoso.test', 'ghost@contoso.test'],
        ['InternalEwsUrl', 'UserDisplayName', 'GroupingInformation'],
      ),
      ctx(),
    )
    expect(a.status).toBe(200)
    expect(a.operation).toBe('GetUserSettings')
    const responses = children(
      path(parseXml(a.xml), 'Body', 'GetUserSettingsResponseMessage', 'Response', 'UserResponses'),
      'UserResponse',
    )
    expect(responses.map((r) => path(r, 'ErrorCode')?.text)).toEqual(['NoError', 'InvalidUser'])
    const settings = children(path(responses[0], 'UserSettings'), 'UserSetting').map((s) => [
      path(s, 'Name')?.text,
      path(s, 'Value')?.text,
    ])
    expect(settings).toEqual([
      ['InternalEwsUrl', 'https://mail.contoso.test/EWS/Exchange.asmx'],
      ['UserDisplayName', 'Alice Anders'],
    ])
    expect(path(responses[0], 'UserSettingErrors', 'UserSettingError', 'SettingName')?.text).toBe(
      'GroupingInformation',
    )
  })

  it('answers a SOAP fault (HTTP 500) for another operation and for a body that is not XML', () => {
    const other = soapAutodiscover(soap(['a@b'], [], 'GetDomainSettingsRequestMessage'), ctx())
    expect(other.status).toBe(500)
    expect(path(parseXml(other.xml), 'Body', 'Fault', 'faultcode')?.text).toBe('soap:Client')
    const bad = soapAutodiscover('<soap:Envelope>', ctx())
    expect(bad.status).toBe(500)
    expect(bad.xml).toContain('not well-formed')
  })
})
