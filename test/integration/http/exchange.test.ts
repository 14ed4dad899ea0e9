import { describe, expect, it } from 'vitest'
import type { FaultRule } from '../../../lab/client/index.js'
import { LabDecodeError } from '../../../core/errors.js'
import { children, parseXml, path } from '../../../core/xml.js'
import { labHttps, type HttpsAnswer } from '../../helpers/https.js'
import { startTestLab, type TestLab } from '../../helpers/lab.js'
import { findItem, foundItems, outlookRequest, soapEnvelope } from '../../helpers/exchange.js'

const SCENARIO = `version: 1
name: exchange
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - signInAddress: alice@contoso.test
    password: Passw0rd!
    mailbox:
      voicemail:
        - { from: Bob Baker, durationSeconds: 1 }
  - { signInAddress: bob@contoso.test, password: Passw0rd! }
`
const ALICE = 'alice@contoso.test:Passw0rd!'
const BOB = 'bob@contoso.test:Passw0rd!'

const pox = (address = 'alice@contoso.test'): string => outlookRequest(address)
const soap = soapEnvelope
const FIND_VOICEMAIL = findItem('voicemail')
const GET_INBOX = soap(
  `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>` +
    `<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`,
)

const autodiscover = (t: TestLab, host = 'autodiscover.contoso.test', basic = ALICE): Promise<HttpsAnswer> =>
  labHttps(t, { host, path: '/autodiscover/autodiscover.xml', body: pox(), basic })
const ews = (t: TestLab, body: string, basic = ALICE): Promise<HttpsAnswer> =>
  labHttps(t, { host: 'mail.contoso.test', path: '/EWS/Exchange.asmx', body, basic })
const responseCode = (a: HttpsAnswer): string | undefined =>
  path(parseXml(a.body), 'Body')?.children[0]?.children[0]?.children[0]?.children.find(
    (c) => c.name === 'ResponseCode',
  )?.text

async function withFault(
  t: TestLab,
  rule: Omit<FaultRule, 'match'> & { match?: FaultRule['match'] },
): Promise<void> {
  await t.client.addFault({ ...rule, match: { server: 'http', ...rule.match } })
}

describe('Autodiscover and EWS faults (the unified fault vocabulary)', () => {
  it('401 and 500 on Autodiscover only, by path', async () => {
    await using t = await startTestLab(SCENARIO)
    await withFault(t, {
      match: { fields: { path: '/autodiscover/*' } },
      fault: { kind: 'error', code: '401' },
      times: 1,
    })
    const first = await autodiscover(t)
    expect(first.status).toBe(401)
    expect(first.headers['www-authenticate']).toBe('Negotiate, NTLM') // Node joins repeated headers
    await withFault(t, {
      match: { fields: { path: '/autodiscover/*' } },
      fault: { kind: 'error', code: '500' },
      times: 1,
    })
    expect((await autodiscover(t)).status).toBe(500)
    expect((await autodiscover(t)).status).toBe(200)
    expect((await ews(t, GET_INBOX)).status).toBe(200)
  })

  it('a malformed answer, a redirect loop between the two Autodiscover names, and an answer with no Protocol', async () => {
    await using t = await startTestLab(SCENARIO)
    await withFault(t, {
      fault: { kind: 'answer', set: { xml: 'malformed' } },
      times: 1,
      match: { fields: { path: '/autodiscover/*' } },
    })
    const bad = await autodiscover(t)
    expect(bad.status).toBe(200)
    expect(() => parseXml(bad.body)).toThrow(LabDecodeError)

    await withFault(t, {
      fault: { kind: 'answer', set: { redirect: 'loop' } },
      times: 2,
      match: { fields: { path: '/autodiscover/*' } },
    })
    const one = await autodiscover(t, 'autodiscover.contoso.test')
    expect(one.status).toBe(302)
    const to = new URL(one.headers.location!)
    expect(to.hostname).toBe('contoso.test')
    const two = await autodiscover(t, to.hostname)
    expect(two.status).toBe(302)
    expect(new URL(two.headers.location!).hostname).toBe('autodiscover.contoso.test')

    await withFault(t, {
      fault: { kind: 'answer', set: { protocols: 'none' } },
      times: 1,
      match: { fields: { path: '/autodiscover/*' } },
    })
    const empty = parseXml((await autodiscover(t)).body)
    expect(path(empty, 'Response', 'Account', 'Action')?.text).toBe('settings')
    expect(children(path(empty, 'Response', 'Account'), 'Protocol')).toHaveLength(0)
    const events = t.lab.journal.query({ kind: 'http:request' })
    expect(events.filter((e) => e.detail.fault === 'answer')).toHaveLength(4)
  })

  it('an EWS response code on one operation of one user (match fields operation and user)', async () => {
    await using t = await startTestLab(SCENARIO)
    await withFault(t, {
      match: { fields: { operation: 'FindItem', user: 'alice@contoso.test' } },
      fault: { kind: 'answer', set: { responseCode: 'ErrorServerBusy' } },
    })
    expect(responseCode(await ews(t, FIND_VOICEMAIL))).toBe('ErrorServerBusy')
    expect(responseCode(await ews(t, GET_INBOX))).toBe('NoError')
    expect(responseCode(await ews(t, FIND_VOICEMAIL, BOB))).toBe('NoError')
    const busy = t.lab.journal.query({ kind: 'http:request' })[0]
    expect(busy?.detail).toMatchObject({
      operation: 'FindItem',
      code: 'ErrorServerBusy',
      user: 'alice@contoso.test',
    })
  })
})

describe('Exchange knobs', () => {
  it('answerOn: only autodiscover.<domain> answers (the bare SMTP domain is some other web site)', async () => {
    await using t = await startTestLab(
      SCENARIO.replace(
        'users:',
        'servers: { http: { autodiscover: { answerOn: [autodiscover-host] } } }\nusers:',
      ),
    )
    expect((await autodiscover(t, 'contoso.test')).status).toBe(404)
    expect((await autodiscover(t, 'autodiscover.contoso.test')).status).toBe(200)
    expect((await autodiscover(t, 'mail.contoso.test')).status).toBe(200)
  })

  it('marks read and deletes through EWS; the admin API shows the mailbox, and rebuilds it from the scenario', async () => {
    await using t = await startTestLab(SCENARIO)
    const id = path(foundItems((await ews(t, FIND_VOICEMAIL)).body)[0], 'ItemId')!.attrs.Id!
    const del = await ews(
      t,
      soap(
        `<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:DeleteItem>`,
      ),
    )
    expect(responseCode(del)).toBe('NoError')
    const url = `${t.admin.url.replace('0.0.0.0', '127.0.0.1')}/http/mailboxes`
    const auth = { authorization: `Bearer ${t.admin.token}` }
    const boxes = (await (await fetch(url, { headers: auth })).json()) as {
      mailboxes: { user: string; folders: Record<string, { total: number }> }[]
    }
    expect(boxes.mailboxes[0]).toMatchObject({
      user: 'alice@contoso.test',
      folders: { voicemail: { total: 0 } },
    })
    await fetch(url, { method: 'DELETE', headers: auth })
    const again = parseXml((await ews(t, FIND_VOICEMAIL)).body)
    expect(JSON.stringify(again)).toContain(id)
  })
})

describe('a bug of ours in a handler', () => {
  it('answers 500, is journaled as http:failed with the error, and the lab keeps serving', async () => {
    await using t = await startTestLab(SCENARIO)
    const runtime = t.lab.runtimes.http
    const mailbox = runtime.mailbox.bind(runtime)
    // A handler that throws, as a bug would: the mailbox store fails once.
    let broken = true
    runtime.mailbox = (...args) => {
      if (broken) {
        broken = false
        throw new Error('the mailbox store failed')
      }
      return mailbox(...args)
    }
    expect((await ews(t, GET_INBOX)).status).toBe(500)
    const [failed] = t.lab.journal.query({ kind: 'http:failed' })
    expect(failed).toMatchObject({
      server: 'http',
      detail: { method: 'POST', url: '/EWS/Exchange.asmx', error: 'the mailbox store failed' },
    })
    expect((await ews(t, GET_INBOX)).status).toBe(200)
  })
})
