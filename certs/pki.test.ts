import { createPrivateKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { manualClock } from '../core/clock.js'
import { loadScenario } from '../lab/scenario/load.js'
import { certificatePem, pem, pkcs7Base64, pkcs7Der, signatureHash } from './export.js'
import { LabPki, namesFor, resetPki, storedAuthorities } from './pki.js'
import type { PkiConfig } from './schema.js'
import { resolveLeafProfile } from './schema.js'

const scenario = loadScenario(
  't.yaml',
  `version: 1
name: t
site: { sipDomain: contoso.test, smtpDomain: mail.contoso.test, adDomain: corp.contoso.test }
`,
)
// One state directory for the file: CAs and keys made once, as in a real lab (RSA key generation is slow).
const stateDir = mkdtempSync(join(tmpdir(), 'cx700-pki-'))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))
const NOW = Date.parse('2026-11-25T12:00:00Z')

function open(pki: Partial<PkiConfig> = {}, dir = stateDir): Promise<LabPki> {
  return LabPki.open({
    stateDir: dir,
    clock: manualClock(NOW),
    config: { ...scenario.pki, ...pki },
    site: scenario.site,
    hosts: scenario.hosts,
  })
}

describe('lab PKI', () => {
  it('makes the CA once and reuses it byte for byte; keys are private files', async () => {
    const first = await open()
    expect(first.created).toEqual(['root-sha1-2048'])
    const again = await open()
    expect(again.created).toEqual([])
    expect(certificatePem(again.root.certificate)).toBe(certificatePem(first.root.certificate))
    const key = join(stateDir, 'pki', 'root-sha1-2048', 'key.pem')
    expect(statSync(key).mode & 0o777).toBe(0o600)
    expect(createPrivateKey(readFileSync(key)).asymmetricKeyType).toBe('rsa')
    expect(storedAuthorities(stateDir).map((a) => a.name)).toContain('root-sha1-2048')
  })

  it('issues one certificate per TLS host with the names clients reach it by, dated from the lab clock', async () => {
    const pki = await open()
    expect(pki.servers.map((s) => s.host).sort()).toEqual([
      'dc1.corp.contoso.test',
      'mail.mail.contoso.test',
      'ocspool.contoso.test',
    ])
    const pool = pki.servers.find((s) => s.host === 'ocspool.contoso.test')!
    expect(pool.dnsNames).toEqual([
      'ocspool.contoso.test',
      'sip.contoso.test',
      'ucupdates-r2.corp.contoso.test',
      'ucupdates-r2.contoso.test',
    ])
    expect(pool.ipAddresses).toEqual(['10.50.0.1'])
    expect(pool.certificate.notBefore.getTime()).toBe(Math.floor((NOW - 86_400_000) / 1000) * 1000)
    expect(signatureHash(pool.certificate)).toBe('SHA-1')
    const mail = scenario.hosts.find((h) => h.roles.includes('exchange'))!
    expect(namesFor(mail, scenario.site)).toEqual([
      'mail.mail.contoso.test',
      'autodiscover.mail.contoso.test',
      'mail.contoso.test',
      'autodiscover.contoso.test',
    ])
    expect(pki.fallback.dnsNames).toEqual(
      expect.arrayContaining(['sip.contoso.test', 'autodiscover.mail.contoso.test']),
    )
    expect(pool.certPem.endsWith('-----END CERTIFICATE-----\n')).toBe(true)
  })

  it('applies per-host profiles over the leaf defaults', async () => {
    const pki = await open({
      intermediate: true,
      leaf: { validity: 'expired' },
      hosts: {
        'ocspool.contoso.test': { hash: 'sha256', validity: 'valid', serverAuth: false },
        'mail.mail.contoso.test': { wrongHostname: true, issuer: 'untrusted' },
      },
    })
    const by = (h: string) => pki.servers.find((s) => s.host === h)!
    const pool = by('ocspool.contoso.test')
    expect(signatureHash(pool.certificate)).toBe('SHA-256')
    expect(pool.certificate.notAfter.getTime()).toBeGreaterThan(NOW)
    expect(pool.intermediates).toHaveLength(1)
    expect(pool.certificate.issuer).toBe(pki.intermediate?.certificate.subject)
    expect(by('dc1.corp.contoso.test').certificate.notAfter.getTime()).toBeLessThan(NOW)
    const mail = by('mail.mail.contoso.test')
    expect(mail.dnsNames).toEqual(['wrong-host.mail.contoso.test'])
    expect(mail.root.subject).toMatch(/Untrusted CA/)
    expect(mail.intermediates).toEqual([])
    expect(pki.chain.map((c) => c.subject)).toEqual([
      pki.root.certificate.subject,
      pki.intermediate?.certificate.subject,
    ])
    expect(resolveLeafProfile({ ...scenario.pki, hash: 'sha384' }, 'x')).toEqual({
      hash: 'sha384',
      keySize: 2048,
      validity: 'valid',
      issuer: 'lab',
      wrongHostname: false,
      serverAuth: true,
    })
  })

  it('chooses a connection’s certificate by local address, then SNI, then the fallback', async () => {
    const spread = loadScenario(
      's.yaml',
      `version: 1
name: s
site: { sipDomain: contoso.test }
hosts:
  - { name: pool.contoso.test, roles: [pool], address: 10.50.0.11 }
  - { name: mail.contoso.test, roles: [exchange], address: 10.50.0.12 }
  - { name: dc.contoso.test, roles: [dc, ca], address: 10.50.0.12 }
`,
    )
    const pki = await LabPki.open({
      stateDir,
      clock: manualClock(NOW),
      config: spread.pki,
      site: spread.site,
      hosts: spread.hosts,
    })
    expect(pki.select({ localAddress: '10.50.0.11', servername: 'mail.contoso.test' }).host).toBe(
      'pool.contoso.test',
    )
    expect(pki.select({ localAddress: '::ffff:10.50.0.11' }).host).toBe('pool.contoso.test')
    // Two hosts share 10.50.0.12: SNI decides, by host name or by any of its names.
    expect(pki.select({ localAddress: '10.50.0.12', servername: 'dc.contoso.test' }).host).toBe(
      'dc.contoso.test',
    )
    expect(pki.select({ localAddress: '10.50.0.12', servername: 'autodiscover.contoso.test' }).host).toBe(
      'mail.contoso.test',
    )
    expect(pki.select({ localAddress: '127.0.0.1' })).toBe(pki.fallback)
    expect(pki.select({})).toBe(pki.fallback)
  })

  it('exports the chain as PKCS#7 in DER and base64 with every armor and line ending', async () => {
    const pki = await open()
    const der = pkcs7Der(pki.chain)
    expect(der[0]).toBe(0x30)
    const b64 = Buffer.from(der).toString('base64')
    const crlf = pkcs7Base64(pki.chain, { armor: 'certificate', eol: '\r\n' })
    expect(crlf.startsWith('-----BEGIN CERTIFICATE-----\r\n')).toBe(true)
    expect(crlf.endsWith('-----END CERTIFICATE-----\r\n')).toBe(true)
    expect(crlf.replace(/-----[A-Z ]+-----|\s/g, '')).toBe(b64)
    expect(pkcs7Base64(pki.chain, { armor: 'pkcs7', eol: '\n' })).toBe(pem(der, 'PKCS7'))
    expect(pkcs7Base64(pki.chain, { armor: 'none', eol: '\n' }).replace(/\n/g, '')).toBe(b64)
  })

  it('reset forgets every CA: the next open makes a new root', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx700-pki-reset-'))
    try {
      const a = await open({}, dir)
      expect(resetPki(dir)).toBe(true)
      const b = await open({}, dir)
      expect(b.created).toEqual(['root-sha1-2048'])
      expect(b.root.certificate.serialNumber).not.toBe(a.root.certificate.serialNumber)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
