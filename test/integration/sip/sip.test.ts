import { connect as tcpConnect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { children, parseXml, path } from '../../../core/xml.js'
import { startTestLab } from '../../helpers/lab.js'
import { SipTestClient } from '../../helpers/sip-client.js'

const SCENARIO = `version: 1
name: sip
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - { signInAddress: alice@contoso.test, password: Passw0rd!, displayName: Alice Anders }
servers:
  sip: { tcp: true }
`
const ALICE = ['alice@contoso.test', 'alice', 'Passw0rd!'] as const

describe('OCS pool over TLS', () => {
  it('registers with NTLM, provisions the DUS URL with the lab’s real HTTPS port, and journals the ClientHello', async () => {
    await using t = await startTestLab(SCENARIO)
    await using c = await SipTestClient.tls(t)
    const ok = await c.register(...ALICE)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('expires')).toBe('900')
    const subscribe = [
      'Event: vnd-microsoft-provisioning-v2',
      'Accept: application/vnd-microsoft-roaming-provisioning-v2+xml',
      'Expires: 0',
    ]
    // After sign-in every request must name the security association (MS-SIPAE): an unsigned one is challenged.
    expect((await c.request('SUBSCRIBE', 'alice@contoso.test', subscribe)).status).toBe(401)
    const sub = await c.signed('SUBSCRIBE', 'alice@contoso.test', subscribe)
    expect(sub.status).toBe(200)
    const props: Record<string, string> = {}
    for (const g of children(parseXml(sub.body.toString()), 'provisionGroup'))
      if (g.attrs.name === 'ServerConfiguration') for (const c of g.children) props[c.name] = c.text
      else for (const p of children(path(g, 'propertyEntryList'), 'property')) props[p.attrs.name!] = p.text
    expect(props.updatesServerInternalUrl).toBe(
      `https://ocspool.contoso.test:${t.port('http', 'https')}/RequestHandler/ucdevice.upx`,
    )
    expect(props.primaryEmailAddress).toBe('alice@contoso.test')
    // A CRLF keep-alive ping gets its pong (RFC 5626), and the connection stays usable.
    const pong = new Promise<string>((r) => c.socket.once('data', (d: Buffer) => r(d.toString())))
    c.socket.write('\r\n\r\n')
    expect(await pong).toBe('\r\n')
    const hello = t.lab.journal.query({ kind: 'sip:client-hello' })[0]
    expect(hello?.detail).toMatchObject({ serverName: 'ocspool.contoso.test', sslv2: false })
    expect((hello?.detail.cipherSuites as string[]).length).toBeGreaterThan(5)
    const requests = t.lab.journal.query({ kind: 'sip:request' })
    expect(requests.map((e) => e.detail.status)).toEqual([401, 401, 200, 401, 200])
    // A third-party NTLM client's keys and the lab's MS-SIPAE signing agree: the pool verified the signature,
    // and signed its answer (Authentication-Info with rspauth).
    expect(requests.at(-1)?.summary).toContain('signature verified')
    expect(sub.headers.get('authentication-info')).toMatch(
      /^NTLM rspauth="01000000[0-9A-F]{16}64000000", srand="[0-9A-F]{8}", snum="2"/,
    )
    expect(requests.at(-1)?.device).toMatchObject({ user: 'alice@contoso.test' })
  })

  it('takes faults: 503 with Retry-After, a TLS abort before the handshake, a wrong password → 403', async () => {
    await using t = await startTestLab(SCENARIO)
    await t.client.addFault({
      match: { server: 'sip', fields: { method: 'REGISTER' } },
      fault: { kind: 'answer', set: { status: '503', retryAfter: 30 } },
      times: 1,
    })
    {
      await using c = await SipTestClient.tls(t)
      const busy = await c.request('REGISTER', 'alice@contoso.test')
      expect(busy.status).toBe(503)
      expect(busy.headers.get('retry-after')).toBe('30')
      expect((await c.register('alice@contoso.test', 'alice', 'nope')).status).toBe(403)
    }
    await t.client.addFault({
      match: { server: 'sip', fields: { stage: 'tls' } },
      fault: { kind: 'reset' },
      times: 1,
    })
    await expect(SipTestClient.tls(t)).rejects.toThrow()
    await t.lab.journal.waitFor({ kind: 'sip:tls-aborted' })
    await using again = await SipTestClient.tls(t)
    expect((await again.register(...ALICE)).status).toBe(200)
  })

  it('answers SIP over TLS on 443 too, on an address of its own (an Edge for sip:443), when the scenario says', async () => {
    await using t = await startTestLab(
      SCENARIO.replace('sip: { tcp: true }', 'sip: { tcp: true, tls443: { address: 127.0.0.2 } }'),
    )
    const edge = t.lab.endpoints().find((e) => e.name === 'sip-443')
    expect(edge?.address).toBe('127.0.0.2')
    await using c = await SipTestClient.tls(t, 'sip.contoso.test', 'sip-443')
    expect((await c.register(...ALICE)).status).toBe(200)
    // Without the knob there is no SIP on 443.
    await using plain = await startTestLab(SCENARIO)
    expect(plain.lab.endpoints().find((e) => e.name === 'sip-443')).toBeUndefined()
  })

  it('survives garbage, huge headers and non-TLS bytes on 5061, and still registers afterwards', async () => {
    await using t = await startTestLab(SCENARIO)
    // Plain text on the TLS port: not a ClientHello; journaled, the handshake fails.
    const raw = tcpConnect({ host: '127.0.0.1', port: t.port('sip', 'sip') })
    await new Promise((r) => raw.once('connect', r))
    raw.end('REGISTER sip:contoso.test SIP/2.0\r\n\r\n')
    await new Promise((r) => raw.once('close', r))
    await t.lab.journal.waitFor({ kind: 'sip:client-hello' })
    for (const junk of [
      'x'.repeat(20_000),
      `REGISTER sip:a SIP/2.0\r\nX: ${'y'.repeat(17_000)}\r\n\r\n`,
      'REGISTER sip:a SIP/2.0\r\nContent-Length: zz\r\n\r\n',
      '\u0000\u0001\u0002\r\n\r\n',
    ]) {
      await using c = await SipTestClient.tls(t)
      c.socket.write(junk)
      const answer = await c.next().catch(() => undefined)
      if (answer) expect(answer.kind === 'response' && answer.status).toBe(400)
      await c.closed
    }
    expect(t.lab.journal.query({ kind: 'sip:malformed' }).length).toBeGreaterThanOrEqual(3)
    await using c = await SipTestClient.tls(t)
    expect((await c.register(...ALICE)).status).toBe(200)
    await using tcp = await SipTestClient.tcp(t)
    expect((await tcp.register(...ALICE)).status).toBe(200)
  })
})
