import { connect } from 'node:net'
import {
  Client,
  Attribute,
  BusyError,
  UnavailableError,
  InvalidCredentialsError,
  OperationsError,
  UnwillingToPerformError,
  AuthMethodNotSupportedError,
} from 'ldapts'
import { describe, expect, it } from 'vitest'
import { MINIMAL_SCENARIO, startTestLab, type TestLab } from '../../helpers/lab.js'

const CONFIG = 'CN=Configuration,DC=contoso,DC=test'

async function client(t: TestLab, port = t.port('ldap'), timeout = 3_000): Promise<Client & AsyncDisposable> {
  const c = new Client({ url: `ldap://127.0.0.1:${port}`, timeout, connectTimeout: 3_000 })
  return Object.assign(c, { [Symbol.asyncDispose]: () => c.unbind().catch(() => undefined) })
}

/** Raw bytes over one connection; resolves with what came back before the server closed or `ms` passed. */
function raw(port: number, bytes: Buffer, ms = 1_000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' })
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      s.destroy()
      resolve({ data: Buffer.concat(chunks), closed: false })
    }, ms)
    s.on('data', (d: Buffer) => chunks.push(d))
    s.on('close', () => {
      clearTimeout(timer)
      resolve({ data: Buffer.concat(chunks), closed: true })
    })
    s.on('error', () => undefined)
    s.on('connect', () => s.write(bytes))
  })
}

describe('LDAP server with ldapts’s client', () => {
  it('binds as the user, finds the CA objects, and journals both with the device’s user', async () => {
    await using t = await startTestLab()
    await using c = await client(t)
    await c.bind('CONTOSO\\alice', 'Passw0rd!')
    const { searchEntries } = await c.search(CONFIG, {
      filter: '(objectCategory=certificationAuthority)',
      attributes: ['cACertificate;binary'],
      explicitBufferAttributes: ['cACertificate;binary'],
    })
    const value = searchEntries[0]?.['cACertificate;binary']
    expect(Buffer.isBuffer(value) && value.equals(Buffer.from(t.lab.pki.root.certificate.rawData))).toBe(true)
    const events = t.lab.journal.query({ server: 'ldap' })
    expect(events.map((e) => e.kind)).toEqual(['ldap:bind', 'ldap:search'])
    expect(events[0]?.summary).toMatch(
      /^#\d+ simple bind CONTOSO\\alice \[netbios\] → success as alice@contoso\.test$/,
    )
    expect(events[1]?.device).toEqual({ ip: '127.0.0.1', user: 'alice@contoso.test' })
    expect(events[1]?.detail).toMatchObject({
      filter: '(objectCategory=certificationAuthority)',
      result: 'success',
    })
  })

  it('lets an unbound client read the RootDSE only, as AD does; the knob opens or closes it', async () => {
    await using t = await startTestLab()
    await using c = await client(t)
    const dse = await c.search('', { scope: 'base', attributes: ['defaultNamingContext'] })
    expect(dse.searchEntries[0]?.defaultNamingContext).toBe('DC=contoso,DC=test')
    await expect(c.search(CONFIG, { filter: '(objectClass=*)' })).rejects.toBeInstanceOf(OperationsError)
    await t.client.loadScenario(MINIMAL_SCENARIO + 'servers:\n  ldap:\n    anonymous: allow\n')
    await using c2 = await client(t)
    expect(
      (await c2.search(CONFIG, { filter: '(objectClass=*)', scope: 'base' })).searchEntries,
    ).toHaveLength(1)
  })

  it('answers SASL with authMethodNotSupported and journals the mechanism; writes with unwillingToPerform', async () => {
    await using t = await startTestLab()
    await using c = await client(t)
    await expect(c.bind('DIGEST-MD5', 'token')).rejects.toBeInstanceOf(AuthMethodNotSupportedError)
    expect(t.lab.journal.query({ kind: 'ldap:bind' })[0]?.detail).toMatchObject({
      method: 'sasl',
      mechanism: 'DIGEST-MD5',
    })
    await c.bind('alice@contoso.test', 'Passw0rd!')
    await expect(
      c.add('CN=x,CN=Users,DC=contoso,DC=test', [new Attribute({ type: 'cn', values: ['x'] })]),
    ).rejects.toBeInstanceOf(UnwillingToPerformError)
  })

  it('serves the global catalog port with the same directory', async () => {
    await using t = await startTestLab()
    const gc = t.lab.endpoints().find((e) => e.name === 'ldap-gc')!
    await using c = await client(t, gc.port)
    await c.bind('CONTOSO\\alice', 'Passw0rd!')
    const { searchEntries } = await c.search('DC=contoso,DC=test', {
      filter: '(sAMAccountName=alice)',
      attributes: ['mail'],
    })
    expect(searchEntries[0]?.mail).toBe('alice@contoso.test')
    expect(t.lab.journal.query({ kind: 'ldap:search' })[0]?.detail.gc).toBe(true)
  })

  it('ends the session of a malformed request or stream with a notice of disconnection, and keeps serving', async () => {
    await using t = await startTestLab()
    const port = t.port('ldap')
    // A search with scope 7: a framed message with a wrong field (RFC 4511 §4.1.1: notice, then close).
    const bad = await raw(port, Buffer.from('300a0201056305' + '0400' + '0a0107', 'hex'))
    expect(bad.closed).toBe(true)
    expect(bad.data.toString('latin1')).toContain('1.3.6.1.4.1.1466.20036')
    const stream = await raw(port, Buffer.from('ff00ff00', 'hex'))
    expect(stream.closed).toBe(true)
    expect(stream.data.toString('latin1')).toContain('1.3.6.1.4.1.1466.20036')
    await using c = await client(t)
    await c.bind('CONTOSO\\alice', 'Passw0rd!')
    expect(t.lab.journal.query({ kind: 'ldap:malformed' })).toHaveLength(2)
    expect(t.lab.journal.query({ kind: 'ldap:failed' })).toEqual([])
  })
})

describe('LDAP faults', () => {
  it('error busy / unavailable on one operation; a wrong password is 49', async () => {
    await using t = await startTestLab()
    await using c = await client(t)
    await t.client.addFault({
      match: { server: 'ldap', fields: { op: 'bind' } },
      fault: { kind: 'error', code: 'unavailable' },
      times: 1,
    })
    await expect(c.bind('CONTOSO\\alice', 'Passw0rd!')).rejects.toBeInstanceOf(UnavailableError)
    await expect(c.bind('CONTOSO\\alice', 'wrong')).rejects.toBeInstanceOf(InvalidCredentialsError)
    await c.bind('CONTOSO\\alice', 'Passw0rd!')
    await t.client.addFault({
      match: { server: 'ldap', fields: { op: 'search' } },
      fault: { kind: 'error', code: 'busy' },
      times: 1,
    })
    await expect(c.search(CONFIG, { filter: '(objectClass=*)' })).rejects.toBeInstanceOf(BusyError)
    expect((await c.search(CONFIG, { filter: '(objectClass=*)', scope: 'base' })).searchEntries).toHaveLength(
      1,
    )
  })

  it('answer: an empty cACertificate for one user only (F7 for one phone)', async () => {
    await using t = await startTestLab(
      MINIMAL_SCENARIO + '  - signInAddress: bob@contoso.test\n    password: Passw0rd!\n',
    )
    await t.client.addFault({
      match: { server: 'ldap', device: 'alice@contoso.test', fields: { op: 'search' } },
      fault: { kind: 'answer', set: { cACertificate: 'empty' } },
    })
    const caOf = async (user: string): Promise<number> => {
      await using c = await client(t)
      await c.bind(`CONTOSO\\${user}`, 'Passw0rd!')
      const { searchEntries } = await c.search(CONFIG, {
        filter: '(objectCategory=certificationAuthority)',
        attributes: ['cACertificate'],
        explicitBufferAttributes: ['cACertificate'],
      })
      const v = searchEntries[0]?.cACertificate
      return Buffer.isBuffer(v) ? v.length : -1
    }
    expect(await caOf('alice')).toBe(0)
    expect(await caOf('bob')).toBeGreaterThan(500)
  })

  it('journals a faulted SASL bind as the bind it is, with the fault (not as a kind the map lacks)', async () => {
    await using t = await startTestLab()
    await t.client.addFault({ match: { server: 'ldap' }, fault: { kind: 'drop' }, times: 1 })
    // RFC 4511 §4.2 by hand: message 1, BindRequest v3, name "", SaslCredentials { mechanism "GSSAPI" }.
    const gssapi = Buffer.from('30140201016' + '00f0201030400a308040647535341504' + '9', 'hex')
    const answered = raw(t.port('ldap'), gssapi, 500)
    const bind = await t.lab.journal.waitFor({ server: 'ldap', kind: 'ldap:bind' })
    expect(bind.detail).toEqual({ id: 1, gc: false, op: 'sasl-bind', fault: 'drop' })
    expect(bind.summary).toBe('#1 sasl-bind → no answer (fault drop)')
    expect(t.lab.journal.query({ server: 'ldap' }).map((e) => e.kind)).toEqual(['fault:applied', 'ldap:bind'])
    expect((await answered).data).toHaveLength(0)
  })

  it('drop hangs the request, reset drops the connection, delay answers late', async () => {
    await using t = await startTestLab()
    await t.client.addFault({ match: { server: 'ldap' }, fault: { kind: 'drop' }, times: 1 })
    await using slow = await client(t, undefined, 300)
    await expect(slow.bind('CONTOSO\\alice', 'Passw0rd!')).rejects.toThrow(/timed out/i)
    await t.client.addFault({ match: { server: 'ldap' }, fault: { kind: 'reset' }, times: 1 })
    await using c = await client(t)
    await expect(c.bind('CONTOSO\\alice', 'Passw0rd!')).rejects.toThrow()
    await t.client.addFault({ match: { server: 'ldap' }, fault: { kind: 'delay', ms: 150 }, times: 1 })
    await using d = await client(t)
    await d.bind('CONTOSO\\alice', 'Passw0rd!')
    expect(t.lab.journal.query({ kind: 'ldap:bind' }).at(-1)?.detail).toMatchObject({
      fault: 'delay',
      result: 'success',
    })
    expect(t.lab.journal.query({ kind: 'fault:applied', server: 'ldap' })).toHaveLength(3)
  })
})
