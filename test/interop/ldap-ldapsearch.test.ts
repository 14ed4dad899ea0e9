import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { BindRequest, FilterParser, SearchRequest } from 'ldapts'
import { afterAll, describe, expect, it } from 'vitest'
import { MINIMAL_SCENARIO, startTestLab, type TestLab } from '../helpers/lab.js'
import { tool } from '../helpers/tools.js'

const run = promisify(execFile)
const ldapsearch = tool('ldapsearch', 'ldap-utils')
const openssl = tool('openssl', 'openssl')
const dir = mkdtempSync(join(tmpdir(), 'cx700-ldap-interop-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const DOMAIN = 'DC=contoso,DC=test'
const CONFIG = `CN=Configuration,${DOMAIN}`

async function search(t: TestLab, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(
      ldapsearch.path!,
      ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', `ldap://127.0.0.1:${t.port('ldap')}`, ...args],
      {
        timeout: 15_000,
      },
    )
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') }
  }
}
const as = (name: string, password = 'Passw0rd!'): string[] => ['-D', name, '-w', password]

describe.skipIf(ldapsearch.skip)('ldapsearch against the AD double', () => {
  it('reads the RootDSE anonymously', async () => {
    await using t = await startTestLab()
    const r = await search(t, [
      '-s',
      'base',
      '-b',
      '',
      '(objectClass=*)',
      'configurationNamingContext',
      'supportedLDAPVersion',
      'dnsHostName',
    ])
    expect(r.out).toContain(`configurationNamingContext: ${CONFIG}`)
    expect(r.out).toContain('supportedLDAPVersion: 3')
    expect(r.out).toContain('dnsHostName: dc1.contoso.test')
  })

  it('binds in every name form AD takes, and gets 49 for a wrong password', async () => {
    await using t = await startTestLab()
    for (const name of ['CONTOSO\\alice', 'alice@contoso.test', `CN=Alice,CN=Users,${DOMAIN}`]) {
      const r = await search(t, [...as(name), '-s', 'base', '-b', DOMAIN, '(objectClass=*)', 'dc'])
      expect(r.code, name).toBe(0)
      expect(r.out, name).toContain('dc: contoso')
    }
    const wrong = await search(t, [...as('CONTOSO\\alice', 'nope'), '-s', 'base', '-b', ''])
    expect(wrong.code).toBe(49)
    expect(wrong.out).toContain('Invalid credentials (49)')
    expect(wrong.out).toContain('AcceptSecurityContext error, data 52e')
    expect(t.lab.journal.query({ kind: 'ldap:bind' }).map((e) => e.detail.form)).toEqual([
      'netbios',
      'upn',
      'dn',
      'netbios',
    ])
  })

  it.skipIf(openssl.skip)(
    'the CX700’s first search: cACertificate;binary written to a file is the lab root',
    async () => {
      await using t = await startTestLab()
      const files = mkdtempSync(join(dir, 'ca-'))
      const r = await search(t, [
        ...as('CONTOSO\\alice'),
        '-tt',
        '-T',
        files,
        '-b',
        CONFIG,
        '(objectCategory=certificationAuthority)',
        'cACertificate;binary',
      ])
      expect(r.code).toBe(0)
      const written = readdirSync(files)
      expect(written.length).toBe(3) // Certification Authorities, AIA, NTAuthCertificates
      const fingerprint = async (args: string[]) =>
        (await run(openssl.path!, ['x509', '-noout', '-fingerprint', '-sha1', ...args])).stdout
      const root = join(dir, 'root.pem')
      writeFileSync(root, t.lab.pki.root.certificate.toString('pem') + '\n')
      const want = await fingerprint(['-in', root])
      expect(await fingerprint(['-inform', 'DER', '-in', join(files, written.sort()[0]!)])).toBe(want)
    },
  )

  it('the CX700’s second search: pKIEnrollmentService in the Configuration NC gives dNSHostName', async () => {
    await using t = await startTestLab()
    const r = await search(t, [
      ...as('CONTOSO\\alice'),
      '-b',
      CONFIG,
      '(objectCategory=pKIEnrollmentService)',
      'dNSHostName',
    ])
    expect(r.out).toContain(
      `dn: CN=CONTOSO-DC1-CA,CN=Enrollment Services,CN=Public Key Services,CN=Services,${CONFIG}`,
    )
    expect(r.out).toContain('dNSHostName: dc1.contoso.test')
  })

  it('holds the Autodiscover service connection point Outlook 2007 searches for, unless the scenario drops it', async () => {
    const scp = [
      '-b',
      CONFIG,
      '(&(objectClass=serviceConnectionPoint)(keywords=77378F46-2C66-4aa9-A6A6-3E7A48B19596))',
      'serviceBindingInformation',
    ]
    {
      await using t = await startTestLab()
      const r = await search(t, [...as('CONTOSO\\alice'), ...scp])
      expect(r.out).toMatch(
        /^dn: CN=MAIL,CN=Autodiscover,CN=Protocols,CN=MAIL,CN=Servers,.*CN=Microsoft Exchange,CN=Services,/m,
      )
      expect(r.out).toContain(
        'serviceBindingInformation: https://mail.contoso.test/autodiscover/autodiscover.xml',
      )
    }
    await using t = await startTestLab(`${MINIMAL_SCENARIO}servers:\n  ldap: { autodiscoverScp: false }\n`)
    const none = await search(t, [...as('CONTOSO\\alice'), ...scp])
    expect(none.out).not.toContain('serviceBindingInformation')
  })

  it('pages results with the paged-results control', async () => {
    await using t = await startTestLab()
    const r = await search(t, [
      ...as('CONTOSO\\alice'),
      '-E',
      'pr=3/noprompt',
      '-b',
      CONFIG,
      '(objectClass=*)',
      '1.1',
    ])
    const dns = r.out.split('\n').filter((l) => l.startsWith('dn: '))
    expect(dns.length).toBeGreaterThan(6)
    expect(r.out.match(/# pagedresults: cookie=/g)?.length).toBe(Math.ceil(dns.length / 3))
    expect(t.lab.journal.query({ kind: 'ldap:search' }).every((e) => e.detail.paged === true)).toBe(true)
  })
})

describe.skipIf(ldapsearch.skip)('LDAP fuzz on the running server', () => {
  it('answers 100,000 random and mutated BER messages without failing, and ldapsearch still works', async () => {
    await using t = await startTestLab()
    const port = t.port('ldap')
    const valid = [
      new BindRequest({ messageId: 1, dn: 'CONTOSO\\alice', password: 'Passw0rd!' }).write(),
      new SearchRequest({
        messageId: 2,
        baseDN: CONFIG,
        filter: FilterParser.parseString('(&(objectCategory=pKIEnrollmentService)(cn=*))'),
        attributes: ['dNSHostName'],
      }).write(),
    ]
    // Mutations keep a valid outer frame, so each reaches the message decoder (a bad frame would end the connection).
    const framed = (inner: Buffer): Buffer => {
      const len = inner.length
      return Buffer.concat([Buffer.from([0x30, 0x82, len >> 8, len & 0xff]), inner])
    }
    const message = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 120 }).map((b) => framed(Buffer.from(b))),
      fc
        .tuple(
          fc.constantFrom(...valid),
          fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        )
        .map(([v, muts]) => {
          const inner = Buffer.from(v.subarray(2))
          for (const [at, x] of muts) inner[at % inner.length] = x
          return framed(inner)
        }),
    )
    const samples = fc.sample(message, { numRuns: 100_000, seed: 3890 })
    let handled = 0
    let malformed = 0
    let failed = 0
    // Counted as they come: the journal keeps only its newest events in memory (the file keeps all).
    const unsubscribe = t.lab.journal.subscribe((e) => {
      if (e.server === 'ldap' && e.kind !== 'fault:applied') handled++
      if (e.kind === 'ldap:malformed') malformed++
      if (e.kind === 'ldap:failed') failed++
    })
    // One connection per message (a malformed message ends its session, RFC 4511 §4.1.1), 32 at a time.
    const one = (bytes: Buffer): Promise<void> =>
      new Promise<void>((resolve) => {
        const s = connect({ port, host: '127.0.0.1' })
        s.on('error', () => resolve())
        s.on('close', () => resolve())
        s.on('data', () => undefined)
        s.on('connect', () => s.end(bytes))
      })
    let next = 0
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < samples.length) await one(samples[next++]!)
      }),
    )
    await expect.poll(() => handled, { timeout: 10_000 }).toBeGreaterThan(99_000)
    unsubscribe()
    expect(samples.length).toBe(100_000)
    expect(failed).toBe(0)
    expect(malformed).toBeGreaterThan(50_000)
    const r = await search(t, [
      ...as('CONTOSO\\alice'),
      '-b',
      CONFIG,
      '(objectCategory=pKIEnrollmentService)',
      'dNSHostName',
    ])
    expect(r.out).toContain('dNSHostName: dc1.contoso.test')
    expect((await t.client.health()).ok).toBe(true)
  }, 120_000)
})
