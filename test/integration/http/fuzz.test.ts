import { execFile } from 'node:child_process'
import { connect } from 'node:tls'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { certificatePem } from '../../../certs/export.js'
import { LabDecodeError } from '../../../core/errors.js'
import { parseXml, path } from '../../../core/xml.js'
import { labHttps, type HttpsAnswer } from '../../helpers/https.js'
import { startTestLab, type TestLab } from '../../helpers/lab.js'
import { findItem, outlookRequest, soapEnvelope } from '../../helpers/exchange.js'
import { tool } from '../../helpers/tools.js'

/**
 * Fuzz of every HTTP endpoint on the running lab: random and mutated bodies, random credentials and content
 * types, XML bombs, huge bodies, raw garbage after the TLS handshake. Each answer must be the protocol's own
 * error (POX Error 600, SOAP fault, HTTP 4xx), the process must not grow without bound, and the lab must
 * still answer a good request — and curl — afterwards. Seeded and bounded in count.
 */

const SCENARIO = `version: 1
name: fuzz
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - signInAddress: alice@contoso.test
    password: Passw0rd!
    mailbox:
      voicemail: [{ from: Bob Baker, durationSeconds: 1 }]
      contacts: [{ name: Bob Baker, phone: '+15550100' }]
`
const ALICE = 'alice@contoso.test:Passw0rd!'
const POX = outlookRequest('alice@contoso.test')
const SOAP = soapEnvelope
const FIND = findItem(
  'inbox',
  'Default',
  '<m:IndexedPageItemView MaxEntriesReturned="5" Offset="0" BasePoint="Beginning"/>',
)
const GUS = SOAP(
  '<a:GetUserSettingsRequestMessage xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover"><a:Request>' +
    '<a:Users><a:User><a:Mailbox>alice@contoso.test</a:Mailbox></a:User></a:Users>' +
    '<a:RequestedSettings><a:Setting>InternalEwsUrl</a:Setting></a:RequestedSettings></a:Request>' +
    '</a:GetUserSettingsRequestMessage>',
)

interface Endpoint {
  readonly name: string
  readonly host: string
  readonly path: string
  readonly valid: string
  /** Whether an answer is the protocol's own (not a crash, not a generic failure). */
  readonly ok: (a: HttpsAnswer) => boolean
}

const isSoapOrXml = (a: HttpsAnswer): boolean => {
  try {
    parseXml(a.body)
    return true
  } catch (err) {
    if (err instanceof LabDecodeError) return false
    throw err
  }
}
const soapFaultOr200 = (a: HttpsAnswer): boolean =>
  (a.status === 200 || (a.status === 500 && path(parseXml(a.body), 'Body', 'Fault') !== undefined)) &&
  isSoapOrXml(a)
const clientError = (a: HttpsAnswer): boolean => a.status >= 400 && a.status < 500

const ENDPOINTS: readonly Endpoint[] = [
  {
    name: 'POX Autodiscover',
    host: 'autodiscover.contoso.test',
    path: '/autodiscover/autodiscover.xml',
    valid: POX,
    ok: (a) => (a.status === 200 && isSoapOrXml(a)) || clientError(a),
  },
  {
    name: 'SOAP Autodiscover',
    host: 'autodiscover.contoso.test',
    path: '/autodiscover/autodiscover.svc',
    valid: GUS,
    ok: (a) => soapFaultOr200(a) || clientError(a),
  },
  {
    name: 'EWS',
    host: 'mail.contoso.test',
    path: '/EWS/Exchange.asmx',
    valid: FIND,
    ok: (a) => soapFaultOr200(a) || clientError(a),
  },
  {
    name: '/certsrv',
    host: 'dc1.corp.contoso.test',
    path: '/certsrv/certnew.p7b?ReqID=CACert&Renewal=-1&Enc=b64',
    valid: '',
    ok: (a) => a.status === 200 || clientError(a),
  },
]

/** Random edits of a valid body: cut, insert markup characters, duplicate a slice. */
const mutated = (valid: string): fc.Arbitrary<string> =>
  fc
    .array(
      fc.tuple(
        fc.nat({ max: Math.max(valid.length - 1, 0) }),
        fc.constantFrom('<', '>', '&', '"', '/', '</a>', '<!--', ']]>', '&#0;', '\u0000', 'xmlns:t="', ''),
        fc.nat({ max: 40 }),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((edits) => {
      let s = valid
      for (const [at, insert, cut] of edits) s = s.slice(0, at) + insert + s.slice(at + cut)
      return s
    })

const BOMBS: readonly [string, string][] = [
  [
    'billion laughs',
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><Autodiscover>&lol3;</Autodiscover>',
  ],
  [
    'external entity',
    '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><Autodiscover>&x;</Autodiscover>',
  ],
  ['deep nesting', '<a>'.repeat(9000) + '</a>'.repeat(9000)],
  ['many elements', `<Autodiscover>${'<e/>'.repeat(15_000)}</Autodiscover>`],
  ['many attributes', `<Autodiscover ${Array.from({ length: 4000 }, (_, i) => `a${i}="1"`).join(' ')}/>`],
  ['numeric entities', `<Autodiscover>${'&#x41;'.repeat(9000)}</Autodiscover>`],
]

async function expectServing(t: TestLab): Promise<void> {
  const a = await labHttps(t, {
    host: 'mail.contoso.test',
    path: '/EWS/Exchange.asmx',
    body: FIND,
    basic: ALICE,
  })
  expect(a.status).toBe(200)
  expect(a.body).toContain('NoError')
}

describe('HTTP endpoints under fuzz', () => {
  it('answers random and mutated bodies with the protocol’s own error, on every endpoint', async () => {
    await using t = await startTestLab(SCENARIO)
    for (const e of ENDPOINTS) {
      const bodies = fc.sample(fc.oneof(fc.string({ maxLength: 300 }), mutated(e.valid || POX)), {
        numRuns: 60,
        seed: 11,
      })
      for (const body of bodies) {
        const a = await labHttps(t, { host: e.host, path: e.path, body, basic: ALICE })
        if (!e.ok(a))
          throw new Error(`${e.name}: ${a.status} ${a.body.slice(0, 200)} for ${JSON.stringify(body)}`)
      }
    }
    await expectServing(t)
  })

  it('answers random credentials, content types and host names with 401/404/400, never a crash', async () => {
    await using t = await startTestLab(SCENARIO)
    const ntlmish = fc
      .uint8Array({ maxLength: 120 })
      .map((b) => Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), Buffer.from(b)]).toString('base64'))
    const samples = fc.sample(
      fc.record({
        scheme: fc.constantFrom('NTLM', 'Negotiate', 'Basic', 'Bearer', ''),
        token: fc.oneof(ntlmish, fc.base64String({ maxLength: 80 }), fc.string({ maxLength: 20 })),
        type: fc.constantFrom('text/xml', 'application/json', 'multipart/form-data; boundary=x', 'x/y', ''),
        host: fc.constantFrom('mail.contoso.test', 'contoso.test', 'nowhere.example', '10.50.0.1', ''),
        endpoint: fc.constantFrom(...ENDPOINTS),
      }),
      { numRuns: 150, seed: 12 },
    )
    for (const s of samples) {
      const token = s.token.replace(/[^\x20-\x7e]/g, '')
      const a = await labHttps(t, {
        host: 'mail.contoso.test',
        path: s.endpoint.path,
        body: s.endpoint.valid,
        headers: {
          host: s.host,
          authorization: `${s.scheme} ${token}`.trim(),
          'content-type': s.type || 'text/xml',
        },
      })
      expect([200, 400, 401, 403, 404, 415, 500]).toContain(a.status)
    }
    await expectServing(t)
  })

  it('refuses XML bombs and huge bodies without growing, and still serves curl afterwards', async () => {
    await using t = await startTestLab(SCENARIO)
    const before = process.memoryUsage().rss
    for (const [name, body] of BOMBS) {
      for (const e of ENDPOINTS.slice(0, 3)) {
        const a = await labHttps(t, { host: e.host, path: e.path, body, basic: ALICE })
        if (!e.ok(a)) throw new Error(`${name} on ${e.name}: ${a.status} ${a.body.slice(0, 200)}`)
        expect(a.body).not.toContain('root:x:0') // no external entity was ever read
        expect(a.body).not.toContain('lollollol')
      }
    }
    // Over the 64 KiB limit: 413 before the body is read; 8 MiB is refused as fast as 65 KiB.
    for (const size of [65 * 1024, 8 * 1024 * 1024]) {
      const a = await labHttps(t, {
        host: 'mail.contoso.test',
        path: '/EWS/Exchange.asmx',
        body: Buffer.alloc(size, 0x3c),
        basic: ALICE,
      }).catch((err: NodeJS.ErrnoException) => ({ status: -1, body: err.code ?? '', headers: {} }))
      // The server answers 413 and may close while the client is still sending (EPIPE/ECONNRESET).
      expect(a.status === 413 || ['EPIPE', 'ECONNRESET'].includes(a.body)).toBe(true)
    }
    // Raw garbage after the TLS handshake: the connection ends with 400 or is closed; nothing else happens.
    const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 2000 }), { numRuns: 20, seed: 13 })
    for (const bytes of garbage) {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect({
          host: '127.0.0.1',
          port: t.port('http', 'https'),
          ca: certificatePem(t.lab.pki.chain.at(-1)!),
          servername: 'mail.contoso.test',
          ciphers: 'DEFAULT:@SECLEVEL=0',
        })
        let text = ''
        socket.on('secureConnect', () => socket.end(Buffer.from(bytes)))
        socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
        socket.on('close', () => resolve(text))
        socket.on('error', () => resolve(text))
        socket.setTimeout(10_000, () => socket.destroy())
      })
      expect(answer === '' || answer.startsWith('HTTP/1.1 400')).toBe(true)
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024)
    await expectServing(t)
    const curl = tool('curl', 'curl')
    if (curl.skip === undefined) {
      const { stdout } = await promisify(execFile)(
        curl.path!,
        [
          '-sk',
          '--ciphers',
          'DEFAULT:@SECLEVEL=0',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-u',
          ALICE,
          '-H',
          'Content-Type: text/xml',
          '--data-binary',
          POX,
          '--resolve',
          `autodiscover.contoso.test:${t.port('http', 'https')}:127.0.0.1`,
          `https://autodiscover.contoso.test:${t.port('http', 'https')}/autodiscover/autodiscover.xml`,
        ],
        { timeout: 15_000 },
      )
      expect(stdout).toBe('200')
    }
  })
})
