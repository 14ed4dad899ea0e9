import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { certificatePem } from '../../certs/export.js'
import { packageRoot } from '../../lab/paths.js'
import { children, parseXml, path } from '../../core/xml.js'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { tool } from '../helpers/tools.js'
import { foundItems } from '../helpers/exchange.js'
import { scenarioPhone } from '../helpers/phone.js'
import { runPhone } from '../../phone/emulator.js'

const run = promisify(execFile)
const curl = tool('curl', 'curl')
const dir = mkdtempSync(join(tmpdir(), 'cx700-exchange-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCENARIO = `version: 1
name: exchange
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - signInAddress: alice@contoso.test
    password: Passw0rd!
    displayName: Alice Anders
    mailbox:
      contacts:
        - { name: Bob Baker, phone: '+15550100', email: bob@contoso.test }
        - { name: Carol Chen, phone: '+15550101' }
      voicemail:
        - { from: Bob Baker, phone: '+15550100', durationSeconds: 3 }
        - { from: Carol Chen, subject: Lunch?, durationSeconds: 1 }
      missedCalls:
        - { from: Dan Dare, phone: '+15550102' }
`

/** The Outlook 2007 POX request (spec §3.2), written by hand. */
const OUTLOOK_2007 = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>alice@contoso.test</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`

const rootPem = (t: TestLab): string => {
  const file = join(dir, `root-${Math.random().toString(36).slice(2)}.pem`)
  writeFileSync(file, certificatePem(t.lab.pki.chain.at(-1)!))
  return file
}

interface CurlResult {
  status: number
  headers: string
  body: string
}

/** curl to a lab name, resolved to 127.0.0.1 with --resolve (so SNI and Host are the real names). */
async function curlTo(t: TestLab, url: string, args: readonly string[] = []): Promise<CurlResult> {
  const u = new URL(url)
  const port = u.protocol === 'https:' ? t.port('http', 'https') : t.port('http', 'http')
  u.port = String(port)
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`)
  const headers = `${out}.h`
  const { stdout } = await run(
    curl.path!,
    [
      '-s',
      '-o',
      out,
      '-D',
      headers,
      '-w',
      '%{http_code}',
      '--resolve',
      `${u.hostname}:${port}:127.0.0.1`,
      '--cacert',
      rootPem(t),
      // The lab PKI signs with SHA-1 as the CX700 needs; OpenSSL 3 refuses that above security level 0.
      '--ciphers',
      'DEFAULT:@SECLEVEL=0',
      ...args,
      u.toString(),
    ],
    { timeout: 20_000 },
  )
  return { status: Number(stdout), headers: readFileSync(headers, 'latin1'), body: readFileSync(out, 'utf8') }
}

const NTLM = ['--ntlm', '-u', 'CORP\\alice:Passw0rd!']

/** FindItem on a distinguished folder, as an EWS 2007 SP1 client writes it. */
const findItem = (folder: string): string => `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
  xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header><t:RequestServerVersion Version="Exchange2007_SP1"/></soap:Header>
  <soap:Body><m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>
  <m:IndexedPageItemView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning"/>
  <m:ParentFolderIds><t:DistinguishedFolderId Id="${folder}"/></m:ParentFolderIds></m:FindItem></soap:Body>
</soap:Envelope>`
const POST_XML = (body: string): string[] => [
  '-H',
  'Content-Type: text/xml; charset=utf-8',
  '--data-binary',
  body,
]

describe.skipIf(curl.skip)('Autodiscover and EWS with curl', () => {
  it('answers the hand-written Outlook 2007 POX request over HTTPS after NTLM, with the lab’s EWS URL', async () => {
    await using t = await startTestLab(SCENARIO)
    const url = 'https://autodiscover.contoso.test/autodiscover/autodiscover.xml'
    const challenge = await curlTo(t, url, POST_XML(OUTLOOK_2007))
    expect(challenge.status).toBe(401)
    expect(challenge.headers).toMatch(/www-authenticate: Negotiate/i)
    expect(challenge.headers).toMatch(/www-authenticate: NTLM/i)
    expect(challenge.headers).toMatch(/www-authenticate: Basic realm="autodiscover.contoso.test"/i)
    expect(challenge.headers).toMatch(/x-soap-enabled: True/i)
    const ok = await curlTo(t, url, [...NTLM, ...POST_XML(OUTLOOK_2007)])
    expect(ok.status).toBe(200)
    const exch = children(path(parseXml(ok.body), 'Response', 'Account'), 'Protocol')[0]
    const ews = `https://mail.contoso.test:${t.port('http', 'https')}/EWS/Exchange.asmx`
    expect(path(exch, 'Type')?.text).toBe('EXCH')
    expect(path(exch, 'ASUrl')?.text).toBe(ews)
    expect(path(exch, 'EwsUrl')?.text).toBe(ews)
    // The same on https://<SMTP domain>/ (spec §3.1, order 1), and case-insensitive paths as on IIS.
    const bare = await curlTo(t, 'https://contoso.test/Autodiscover/Autodiscover.xml', [
      ...NTLM,
      ...POST_XML(OUTLOOK_2007),
    ])
    expect(bare.status).toBe(200)
    const journal = t.lab.journal.query({ kind: 'http:request' }).filter((e) => e.detail.status === 200)
    expect(journal.map((e) => [e.detail.operation, e.detail.address, e.detail.user])).toEqual([
      ['Autodiscover', 'alice@contoso.test', 'alice@contoso.test'],
      ['Autodiscover', 'alice@contoso.test', 'alice@contoso.test'],
    ])
  })

  it('redirects the HTTP GET to HTTPS (302), refuses a POST without SSL, and routes by Host', async () => {
    await using t = await startTestLab(SCENARIO)
    const get = await curlTo(t, 'http://autodiscover.contoso.test/autodiscover/autodiscover.xml')
    expect(get.status).toBe(302)
    expect(get.headers).toContain(
      `location: https://autodiscover.contoso.test:${t.port('http', 'https')}/autodiscover/autodiscover.xml`,
    )
    const post = await curlTo(t, 'http://autodiscover.contoso.test/autodiscover/autodiscover.xml', [
      ...NTLM,
      ...POST_XML(OUTLOOK_2007),
    ])
    expect(post.status).toBe(403)
    // The domain controller's site has no Autodiscover; the Exchange server's has.
    const dc = await curlTo(t, 'https://dc1.corp.contoso.test/autodiscover/autodiscover.xml', [
      ...NTLM,
      ...POST_XML(OUTLOOK_2007),
    ])
    expect(dc.status).toBe(404)
    const unknown = await curlTo(t, 'https://autodiscover.contoso.test/autodiscover/autodiscover.xml', [
      ...NTLM,
      ...POST_XML(OUTLOOK_2007.replace('alice@', 'nobody@')),
    ])
    expect(path(parseXml(unknown.body), 'Response', 'Error', 'ErrorCode')?.text).toBe('500')
  })

  it('serves EWS over plain HTTP when the scenario says so, and hands out the http:// URL (ews.scheme)', async () => {
    const find = findItem('voicemail')
    {
      await using t = await startTestLab(SCENARIO)
      const refused = await curlTo(t, 'http://mail.contoso.test/EWS/Exchange.asmx', [
        ...NTLM,
        ...POST_XML(find),
      ])
      expect(refused.status).toBe(403)
    }
    await using t = await startTestLab(`${SCENARIO}servers:\n  http:\n    ews: { scheme: http }\n`)
    const ad = await curlTo(t, 'https://autodiscover.contoso.test/autodiscover/autodiscover.xml', [
      ...NTLM,
      ...POST_XML(OUTLOOK_2007),
    ])
    const exch = children(path(parseXml(ad.body), 'Response', 'Account'), 'Protocol')[0]
    expect(path(exch, 'EwsUrl')?.text).toBe(
      `http://mail.contoso.test:${t.port('http', 'http')}/EWS/Exchange.asmx`,
    )
    const r = await curlTo(t, 'http://mail.contoso.test/EWS/Exchange.asmx', [...NTLM, ...POST_XML(find)])
    expect(r.status).toBe(200)
    expect(foundItems(r.body)).toHaveLength(2)
  })

  it('lets the emulated phone follow the http:// EWS URL Autodiscover gives: EWS without TLS', async () => {
    const file = join(dir, 'ews-over-http.yaml')
    const base = join(packageRoot(), 'scenarios', 'default.yaml')
    writeFileSync(
      file,
      `version: 1\nname: ews-over-http\nextends: ${base}\nservers: { http: { ews: { scheme: http } } }\n`,
    )
    await using t = await startTestLab(undefined, { file })
    expect((await runPhone(scenarioPhone(t, '00:04:f2:00:00:e1'))).endState).toBe('signed-in')
    const ews = t.lab.journal
      .query({ kind: 'http:request' })
      .filter((e) => e.summary.startsWith('POST /EWS/'))
    expect(ews.length).toBeGreaterThan(0)
    expect(new Set(ews.map((e) => e.peer?.transport))).toEqual(new Set(['tcp']))
  })

  it('answers EWS FindItem on the voice mail folder to curl --ntlm', async () => {
    await using t = await startTestLab(SCENARIO)
    const find = findItem('voicemail')
    const r = await curlTo(t, 'https://mail.contoso.test/EWS/Exchange.asmx', [...NTLM, ...POST_XML(find)])
    expect(r.status).toBe(200)
    const items = foundItems(r.body)
    expect(items.map((i) => path(i, 'Subject')?.text)).toEqual([
      'Voice Mail from Bob Baker (3 seconds)',
      'Lunch?',
    ])
    const event = t.lab.journal.query({ kind: 'http:request' }).find((e) => e.detail.status === 200)
    expect(event?.detail).toMatchObject({
      operation: 'FindItem',
      folder: 'voicemail',
      items: 2,
      user: 'alice@contoso.test',
    })
  })
})

const node = process.execPath
const CLIENT = join(packageRoot(), 'test', 'interop', 'clients', 'ews-client.mjs')

interface ClientView {
  ewsUrl: string
  displayName: string
  voicemail: {
    subject: string
    itemClass: string
    body: string
    attachment: string
    audioHead: string
    audioBytes: number
  }[]
  missedCalls: { subject: string }[]
  contacts: { name: string; phone: string | null }[]
}

async function ewsClient(t: TestLab, auth: 'basic' | 'ntlm', user: string): Promise<ClientView> {
  const url = `https://127.0.0.1:${t.port('http', 'https')}/autodiscover/autodiscover.svc`
  const { stdout } = await run(node, [CLIENT, url, 'alice@contoso.test', user, 'Passw0rd!', auth], {
    timeout: 60_000,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: rootPem(t), LAB_RESOLVE: 'mail.contoso.test' },
  })
  return JSON.parse(stdout) as ClientView
}

describe('Autodiscover and EWS with a real EWS client library (ews-javascript-api)', () => {
  // A modern client on a modern PKI: SHA-256 and TLS 1.2+, and the host names the lab serves on 127.0.0.1.
  const modern = SCENARIO.replace(
    'name: exchange',
    'name: exchange\npki: { hash: sha256 }\nservers: { http: { legacyTls: false } }',
  )

  it.each(['basic', 'ntlm'] as const)(
    'discovers EWS through SOAP Autodiscover and reads voice mail, audio, missed calls and contacts (%s)',
    async (auth) => {
      await using t = await startTestLab(modern)
      const view = await ewsClient(t, auth, auth === 'ntlm' ? 'CORP\\alice' : 'alice@contoso.test').catch(
        (err: unknown) => {
          throw new Error(`ews-client failed: ${String((err as { stderr?: unknown }).stderr)}`)
        },
      )
      expect(view.ewsUrl).toBe(`https://mail.contoso.test:${t.port('http', 'https')}/EWS/Exchange.asmx`)
      expect(view.displayName).toBe('Alice Anders')
      expect(view.voicemail.map((v) => v.subject)).toEqual([
        'Voice Mail from Bob Baker (3 seconds)',
        'Lunch?',
      ])
      expect(view.voicemail[0]).toMatchObject({
        itemClass: 'IPM.Note.Microsoft.Voicemail.UM.CA',
        attachment: 'audio.wav',
        audioHead: 'RIFFWAVE',
        audioBytes: 44 + 3 * 8000 * 2,
      })
      expect(view.missedCalls.map((m) => m.subject)).toEqual(['Missed call from Dan Dare'])
      expect(view.contacts).toEqual([
        { name: 'Bob Baker', phone: '+15550100' },
        { name: 'Carol Chen', phone: '+15550101' },
      ])
      const ops = t.lab.journal
        .query({ kind: 'http:request' })
        .filter((e) => e.detail.status === 200)
        .map((e) => e.detail.operation)
      expect(ops).toEqual(expect.arrayContaining(['GetUserSettings', 'FindItem', 'GetItem', 'GetAttachment']))
    },
  )
})
