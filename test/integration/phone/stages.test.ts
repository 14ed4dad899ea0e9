import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../../lab/paths.js'
import { startTestLab, type TestLab } from '../../helpers/lab.js'
import { PhoneContext, type PhoneNetwork } from '../../../phone/context.js'
import { boot } from '../../../phone/emulator.js'
import { PhoneNet } from '../../../phone/net.js'
import { PhoneState } from '../../../phone/state.js'
import { dcLocatorStage } from '../../../phone/stages/dc-locator.js'
import { dhcpStage } from '../../../phone/stages/dhcp.js'
import { exchangeStage } from '../../../phone/stages/exchange.js'
import { provisioningStage } from '../../../phone/stages/provisioning.js'
import { poolStage, registerStage } from '../../../phone/stages/sip.js'
import { timeStage } from '../../../phone/stages/time.js'
import { trustStage } from '../../../phone/stages/trust.js'
import { firstUpdateStage } from '../../../phone/stages/update.js'
import { decodeLdapResponse } from '../../../servers/ldap/client-codec.js'
import { encodeBindResponse, takeLdapFrames } from '../../../servers/ldap/codec.js'

/*
 * Each stage of the emulated boot on its own, against a lab on loopback: what it hands on, where it ends the
 * boot, and that a second boot over the same stored state re-enters the stages (roots kept, no download).
 */
let t: TestLab
beforeAll(async () => {
  t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
})
afterEach(async () => {
  await t.client.clearFaults()
})
afterAll(async () => {
  await t[Symbol.asyncDispose]()
})

let macs = 0x10
const context = (state = new PhoneState('1.0.522.101'), password = 'Passw0rd!'): PhoneContext =>
  new PhoneContext({
    net: new PhoneNet(t.lab.endpoints()),
    mac: `00:04:f2:00:01:${(macs++).toString(16).padStart(2, '0')}`,
    signIn: 'alice@contoso.test',
    account: 'CORP\\alice',
    password,
    state,
    timeoutMs: 1_000,
  })

function ok<T>(outcome: { next: T } | { end: string }): T {
  if ('end' in outcome) throw new Error(`the stage ended the boot: ${outcome.end}`)
  return outcome.next
}
const network = async (ctx: PhoneContext): Promise<PhoneNetwork> => ok(await dhcpStage(ctx))

describe('the emulator, stage by stage', () => {
  it('DHCP: a lease with option 15 and 119, and a resolver over them', async () => {
    const ctx = context()
    const n = await network(ctx)
    expect(n.lease.domain).toBe('corp.contoso.test')
    expect(n.sipDomain).toBe('contoso.test')
    expect(await n.dns.address('dc1.corp.contoso.test')).toBe('10.50.0.1')
  })

  it('DNS: a truncated answer is asked again over TCP, as a Windows CE resolver does (§2.2)', async () => {
    const n = await network(context())
    await t.client.addFault({
      match: { server: 'dns', fields: { transport: 'udp', qname: 'dc1.corp.contoso.test' } },
      fault: { kind: 'answer', set: { tc: true } },
    })
    const since = t.lab.journal.query().at(-1)?.seq ?? 0
    expect(await n.dns.address('dc1.corp.contoso.test')).toBe('10.50.0.1')
    const asked = t.lab.journal.query({ kind: 'dns:query' }).filter((e) => e.seq > since)
    expect(asked.map((e) => /\((udp|tcp)\)/.exec(e.summary)?.[1])).toEqual(['udp', 'tcp'])
  })

  it('DHCP: no server answering ends the boot without an address', async () => {
    const ctx = new PhoneContext({ ...context().options, net: new PhoneNet([]), timeoutMs: 100 })
    expect(await dhcpStage(ctx)).toEqual({ end: 'no-address' })
  })

  it('the first update check finds ucupdates-r2 and downloads the newer image, to install when idle', async () => {
    const ctx = context()
    await firstUpdateStage(ctx, await network(ctx))
    expect(ctx.steps.at(-1)?.step).toBe('update (ucupdates-r2)')
    expect(ctx.state.pendingFirmware).toBe('3.5.6907.35')
    expect(ctx.state.firmware).toBe('1.0.522.101')
  })

  it('NTP sets the clock; without an NTP answer the phone carries on with its clock unset (F5)', async () => {
    const ctx = context()
    expect(typeof ok(await timeStage(ctx, await network(ctx)))).toBe('number')
    await t.client.addFault({ match: { server: 'ntp' }, fault: { kind: 'drop' } })
    const late = context()
    ok(await timeStage(late, await network(late)))
    expect(late.now().toISOString()).toMatch(/^2006-01-01T00:00/)
    expect(late.steps.at(-1)).toMatchObject({ step: 'ntp', ok: false })
  })

  it('the DC locator walks the suffixes; without the SRV record the DC is not found', async () => {
    const ctx = context()
    expect(ok(await dcLocatorStage(ctx, await network(ctx))).name).toBe('dc1.corp.contoso.test')
    expect(ctx.status).toEqual(['Locating Domain Controller'])
    await t.client.addFault({
      match: { server: 'dns', fields: { qname: '_ldap._tcp.dc._msdcs.*' } },
      fault: { kind: 'error', code: 'NXDOMAIN' },
    })
    const lost = context()
    expect(await dcLocatorStage(lost, await network(lost))).toEqual({ end: 'dc-not-found' })
  })

  it('Kerberos: the KDC is the one the _kerberos SRV record names (§10.13), the DC only without one', async () => {
    // A phone that reaches only the site's own addresses, as on a real link.
    const ctx = new PhoneContext({
      ...context().options,
      net: new PhoneNet(t.lab.endpoints(), t.lab.siteAddresses()),
    })
    const n = await network(ctx)
    // The record names another host, at an address nothing serves: the logon goes there, and fails to NTLM.
    await t.client.addFault({
      match: { server: 'dns', fields: { qname: '_kerberos._tcp.dc._msdcs.corp.contoso.test' } },
      fault: { kind: 'answer', set: { target: 'time.contoso.test' } },
    })
    await t.client.addFault({
      match: { server: 'dns', fields: { qname: 'time.contoso.test' } },
      fault: { kind: 'answer', set: { address: '10.50.0.99' } },
    })
    await trustStage(ctx, n, ok(await dcLocatorStage(ctx, n)))
    expect(ctx.steps.find((s) => s.step === 'kerberos')).toMatchObject({ ok: false })
    await t.client.clearFaults()
    const fine = context()
    const m = await network(fine)
    await trustStage(fine, m, ok(await dcLocatorStage(fine, m)))
    expect(fine.steps.find((s) => s.step === 'kerberos')?.ok).toBe(true)
  })

  it('trust: roots from the CA objects; a phone that holds roots only binds', async () => {
    const state = new PhoneState('3.5.6907.35')
    const ctx = context(state)
    const n = await network(ctx)
    ok(await timeStage(ctx, n))
    const roots = ok(await trustStage(ctx, n, ok(await dcLocatorStage(ctx, n))))
    expect(roots.length).toBeGreaterThan(0)
    expect(ctx.status).toContain('Downloading Certificate')
    const again = context(state)
    const m = await network(again)
    ok(await trustStage(again, m, ok(await dcLocatorStage(again, m))))
    expect(again.status).not.toContain('Downloading Certificate')
    expect(again.steps.map((s) => s.step)).toContain('ldap-bind')
  })

  it('LDAP: the bind as the user is GSS-SPNEGO with a ticket for ldap/<DC> (GUESS 11); simple when asked', async () => {
    const ctx = context(new PhoneState('3.5.6907.35'))
    const n = await network(ctx)
    ok(await timeStage(ctx, n))
    ok(await trustStage(ctx, n, ok(await dcLocatorStage(ctx, n))))
    expect(ctx.steps.find((s) => s.step === 'ldap-bind')).toMatchObject({
      ok: true,
      detail: 'bound as CORP\\alice (GSS-SPNEGO, Kerberos ticket for ldap/dc1.corp.contoso.test)',
    })
    const binds = t.lab.journal.query({ server: 'ldap', kind: 'ldap:bind', device: ctx.options.mac })
    expect(binds.map((e) => [e.detail.mechanism, e.detail.result])).toEqual([['GSS-SPNEGO', 'success']])
    const simple = new PhoneContext({ ...context().options, guesses: { ldapBind: 'simple' } })
    const m = await network(simple)
    ok(await trustStage(simple, m, ok(await dcLocatorStage(simple, m))))
    const asked = t.lab.journal.query({ server: 'ldap', kind: 'ldap:bind', device: simple.options.mac })
    expect(asked.map((e) => e.detail.method)).toEqual(['simple'])
  })

  it('LDAP: a DC that refuses the ticket ends the sign-in; one that answers success without its AP-REP is not trusted', async () => {
    await t.client.addFault({
      match: { server: 'ldap', fields: { op: 'bind' } },
      fault: { kind: 'error', code: 'invalidCredentials' },
    })
    const refused = context()
    const n = await network(refused)
    expect(await trustStage(refused, n, ok(await dcLocatorStage(refused, n)))).toEqual({
      end: 'sign-in-refused',
    })
    await t.client.clearFaults()
    // A DC in the middle that drops the SPNEGO answer from a successful bind: the phone asked for mutual
    // authentication and never got it, so it does not use the directory.
    // Or one that alters the AP-REP: sealed in the ticket's key, it no longer opens.
    for (const change of ['drop', 'tamper'] as const) {
      await using proxy = await alteringSaslAnswer(t.port('ldap'), change)
      const endpoints = t.lab.endpoints().map((e) => (e.name === 'ldap' ? { ...e, port: proxy.port } : e))
      const fooled = new PhoneContext({ ...context().options, net: new PhoneNet(endpoints) })
      const m = await network(fooled)
      expect(await trustStage(fooled, m, ok(await dcLocatorStage(fooled, m))), change).toEqual({
        end: 'dc-not-found',
      })
      expect(fooled.steps.find((s) => s.step === 'ldap-bind')).toMatchObject({
        ok: false,
        detail: expect.stringContaining('success without SPNEGO accept-completed and an AP-REP sealed'),
      })
    }
  })

  it('pool, REGISTER, provisioning and Exchange; a wrong password is refused at REGISTER', async () => {
    const state = new PhoneState('3.5.6907.35')
    const ctx = context(state)
    const n = await network(ctx)
    ok(await timeStage(ctx, n))
    ok(await trustStage(ctx, n, ok(await dcLocatorStage(ctx, n))))
    const sip = ok(await registerStage(ctx, ok(await poolStage(ctx, n))))
    expect(state.everSignedIn).toBe(true)
    const props = await provisioningStage(ctx, sip.sip)
    expect(props.primaryEmailAddress).toBe('alice@contoso.test')
    // The SUBSCRIBEs were signed on the security association REGISTER made, and the pool verified them.
    const subscribes = t.lab.journal
      .query({ kind: 'sip:request' })
      .filter((e) => e.detail.method === 'SUBSCRIBE')
    expect(subscribes.at(-1)?.summary).toContain('signature verified')
    // As S18 shows it: the package's content type in Accept, and the groups asked for in the body.
    const prov = subscribes.find((e) => e.detail.event === 'vnd-microsoft-provisioning-v2')
    expect(prov?.detail.accept).toBe('application/vnd-microsoft-roaming-provisioning-v2+xml')
    expect(prov?.detail.body).toContain('<provisioningGroup name="ServerConfiguration"/>')
    expect(await exchangeStage(ctx, n, props)).toBe(true)
    const wrong = context(state, 'not-the-password')
    const w = await network(wrong)
    ok(await timeStage(wrong, w))
    expect(await registerStage(wrong, ok(await poolStage(wrong, w)))).toEqual({ end: 'sign-in-refused' })
  })

  it('refuses a 200 to REGISTER whose rspauth is not the pool’s signature, and ignores an unsigned answer after', async () => {
    await t.client.addFault({
      match: { server: 'sip', fields: { method: 'REGISTER' } },
      fault: { kind: 'answer', set: { signature: 'wrong' } },
      times: 3,
    })
    const ctx = context(new PhoneState('3.5.6907.35'))
    const n = await network(ctx)
    ok(await timeStage(ctx, n))
    ok(await trustStage(ctx, n, ok(await dcLocatorStage(ctx, n))))
    expect(await registerStage(ctx, ok(await poolStage(ctx, n)))).toEqual({ end: 'sign-in-refused' })
    expect(ctx.steps.at(-1)?.detail).toMatch(
      /REGISTER → 200 to REGISTER: rspauth [0-9A-F]{32} is not the pool's signature/,
    )
    // The pool did sign in the phone; it is the phone that refused the pool.
    expect(t.lab.journal.query({ kind: 'sip:request' }).at(-1)?.summary).toContain('200 REGISTER')
    await t.client.clearFaults()
    await t.client.addFault({
      match: { server: 'sip', fields: { method: 'SUBSCRIBE' } },
      fault: { kind: 'answer', set: { signature: 'missing' } },
      times: 1,
    })
    const again = context(new PhoneState('3.5.6907.35'))
    const a = await network(again)
    ok(await timeStage(again, a))
    ok(await trustStage(again, a, ok(await dcLocatorStage(again, a))))
    const sip = ok(await registerStage(again, ok(await poolStage(again, a))))
    const unsigned = await sip.sip.request('SUBSCRIBE', ['Event: presence'], again.timeoutMs)
    expect(unsigned).toBeUndefined()
    expect(sip.sip.signatureProblem).toBe('200 to SUBSCRIBE: no Authentication-Info')
    expect(sip.sip.closed).toBe(false)
  })

  it('walks on past a dead SRV target to the A-record fallbacks, and signs in by sip.<domain> (§2.6)', async () => {
    await t.client.addDnsRecord({
      name: '_sipinternaltls._tcp.contoso.test',
      type: 'SRV',
      value: '0 0 5999 ocspool.contoso.test', // a port nothing answers on
    })
    await t.client.addDnsRecord({ name: 'sip.contoso.test', type: 'A', value: '10.50.0.1' })
    // No other SRV record: the walk reaches the A records (an Edge's _sip._tls on 443 would be tried first).
    await t.client.removeDnsRecords('_sip._tls.contoso.test', 'SRV')
    await t.client.removeDnsRecords('_sipinternal._tcp.contoso.test', 'SRV')
    try {
      const ctx = context(new PhoneState('3.5.6907.35'))
      const n = await network(ctx)
      ok(await timeStage(ctx, n))
      ok(await trustStage(ctx, n, ok(await dcLocatorStage(ctx, n))))
      const pool = ok(await poolStage(ctx, n))
      pool.close()
      expect(ctx.learnt.pool).toBe('sip.contoso.test')
    } finally {
      await t.client.resetDnsChanges()
    }
  })

  it('provisioning v1 (the knob, ADR 0024): the settings of serverConfiguration are read as v2’s are', async () => {
    const ctx = new PhoneContext({
      ...context(new PhoneState('3.5.6907.35')).options,
      guesses: { provisioning: 'v1' },
    })
    expect(await boot(ctx)).toBe('signed-in')
    expect(ctx.steps.find((s) => s.step === 'provisioning')?.detail).toMatch(
      /^vnd-microsoft-provisioning → 200; e-mail alice@contoso\.test, DUS https:\/\/ocspool\.contoso\.test/,
    )
  })

  it('boots twice over one stored state: the second boot re-enters every stage and signs in', async () => {
    const state = new PhoneState('1.0.522.101')
    // Nobody has signed in: the image downloaded at power-on is installed while idle, then it restarts (§6.4).
    expect(await boot(context(state))).toBe('updating')
    expect(state.firmware).toBe('3.5.6907.35')
    expect(await boot(context(state))).toBe('signed-in')
    const second = context(state)
    expect(await boot(second)).toBe('signed-in')
    expect(second.status).not.toContain('Downloading Certificate')
    expect(second.steps.some((s) => s.step === 'update (ucupdates-r2)')).toBe(false)
    // After sign-in: Autodiscover and EWS first, then the provisioned update check (trace S1d, 22–26).
    const names = second.steps.map((s) => s.step)
    expect(names.indexOf('autodiscover')).toBeGreaterThan(names.indexOf('provisioning'))
    expect(names.indexOf('ews')).toBeLessThan(names.indexOf('update (provisioned)'))
  })
})

/**
 * A man in the middle of the phone's LDAP: every message passes, except a successful bind's SASL answer (the
 * DC's SPNEGO token with its AP-REP): taken out (`drop`), or its last octet — in the AP-REP's sealed part —
 * changed (`tamper`).
 */
async function alteringSaslAnswer(
  upstream: number,
  change: 'drop' | 'tamper',
): Promise<{ port: number } & AsyncDisposable> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const up = connect(upstream, '127.0.0.1')
    sockets.add(client).add(up)
    client.pipe(up)
    let pending: Buffer = Buffer.alloc(0)
    up.on('data', (d: Buffer) => {
      const { frames, rest } = takeLdapFrames(Buffer.concat([pending, d]))
      pending = rest
      for (const f of frames) {
        const r = decodeLdapResponse(f)
        if (r.kind !== 'bind' || r.code !== 0 || !r.serverSaslCreds) {
          client.write(f)
          continue
        }
        const creds = Buffer.from(r.serverSaslCreds)
        creds[creds.length - 1]! ^= 1
        client.write(encodeBindResponse(r.id, 0, '', change === 'tamper' ? creds : undefined))
      }
    })
    for (const s of [client, up]) s.on('error', () => undefined)
    up.on('close', () => client.destroy())
    client.on('close', () => up.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
