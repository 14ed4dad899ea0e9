import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { AddressInfo } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { certificatePem, pkcs7Base64, pkcs7Der } from '../../certs/export.js'
import { LabPki, type ServerCertificate } from '../../certs/pki.js'
import type { PkiConfig } from '../../certs/schema.js'
import { TlsContexts, labTlsServer } from '../../certs/tls.js'
import { systemClock } from '../../core/clock.js'
import { loadScenario } from '../../lab/scenario/load.js'
import { runCli, spawnLab } from '../helpers/process.js'
import { tool } from '../helpers/tools.js'

const run = promisify(execFile)
const openssl = tool('openssl', 'openssl')
const dir = mkdtempSync(join(tmpdir(), 'cx700-pki-interop-'))
const stateDir = join(dir, 'state')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const scenario = loadScenario('t.yaml', 'version: 1\nname: t\nsite: { sipDomain: contoso.test }\n')
const open = (pki: Partial<PkiConfig> = {}): Promise<LabPki> =>
  LabPki.open({
    stateDir,
    clock: systemClock(),
    config: { ...scenario.pki, ...pki },
    site: scenario.site,
    hosts: scenario.hosts,
  })

let n = 0
function file(text: string | Uint8Array): string {
  const f = join(dir, `f${++n}`)
  writeFileSync(f, text)
  return f
}

/** openssl with its exit code and both outputs; a failed verify is an answer, not an exception. */
async function ossl(args: string[], input?: string): Promise<{ code: number; out: string }> {
  try {
    const p = run(openssl.path!, args, { timeout: 15_000 })
    if (input !== undefined) p.child.stdin?.end(input)
    const { stdout, stderr } = await p
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') }
  }
}

const text = async (cert: ServerCertificate | string): Promise<string> =>
  (await ossl(['x509', '-noout', '-text', '-in', file(typeof cert === 'string' ? cert : cert.certPem)])).out

async function verify(
  pki: LabPki,
  cert: ServerCertificate,
  extra: string[] = [],
): Promise<{ code: number; out: string }> {
  const chain = pki.chain.map(certificatePem)
  return ossl([
    'verify',
    '-CAfile',
    file(chain[0]!),
    ...(chain.length > 1 ? ['-untrusted', file(chain.slice(1).join(''))] : []),
    ...extra,
    file(cert.certificate.toString('pem') + '\n'),
  ])
}

const host = (pki: LabPki, name: string): ServerCertificate => pki.servers.find((s) => s.host === name)!

describe.skipIf(openssl.skip)('lab PKI checked with openssl', () => {
  it('default profile: SHA-1, 2048-bit, the pool names, serverAuth, valid now; the chain verifies', async () => {
    const pki = await open()
    const pool = host(pki, 'ocspool.contoso.test')
    const t = await text(pool)
    expect(t).toContain('Signature Algorithm: sha1WithRSAEncryption')
    expect(t).toContain('Public-Key: (2048 bit)')
    expect(t).toContain('DNS:ocspool.contoso.test, DNS:sip.contoso.test')
    expect(t).toContain('IP Address:10.50.0.1')
    expect(t).toMatch(/Extended Key Usage: *\n *TLS Web Server Authentication/)
    const v = await verify(pki, pool, ['-purpose', 'sslserver', '-verify_hostname', 'sip.contoso.test'])
    expect(v.out).toContain(': OK')
    const root = await text(certificatePem(pki.root.certificate))
    expect(root).toMatch(/CA:TRUE/)
    expect(root).toContain('Signature Algorithm: sha1WithRSAEncryption')
  })

  it('F10: a SHA-256, 4096-bit root with an intermediate; a 1024-bit server key', async () => {
    const pki = await open({ hash: 'sha256', keySize: 4096, intermediate: true, leaf: { keySize: 1024 } })
    const root = await text(certificatePem(pki.root.certificate))
    expect(root).toContain('Signature Algorithm: sha256WithRSAEncryption')
    expect(root).toContain('Public-Key: (4096 bit)')
    const pool = host(pki, 'ocspool.contoso.test')
    expect(await text(pool)).toContain('Public-Key: (1024 bit)')
    expect((await verify(pki, pool, ['-auth_level', '0'])).out).toContain(': OK')
  }, 60_000)

  it('fails verification the way each failure profile should', async () => {
    const cases: [Partial<PkiConfig>, string[], RegExp][] = [
      [{ leaf: { validity: 'expired' } }, [], /error 10 at 0 depth lookup: certificate has expired/],
      [
        { leaf: { validity: 'not-yet-valid' } },
        [],
        /error 9 at 0 depth lookup: certificate is not yet valid/,
      ],
      [
        { leaf: { issuer: 'untrusted' } },
        [],
        /error 20 at 0 depth lookup: unable to get local issuer certificate/,
      ],
      [{ leaf: { issuer: 'lookalike' } }, [], /error 20 at 0 depth lookup/],
      [
        { leaf: { wrongHostname: true } },
        ['-verify_hostname', 'ocspool.contoso.test'],
        /error 62 at 0 depth lookup: hostname mismatch/,
      ],
      [
        { leaf: { serverAuth: false } },
        ['-purpose', 'sslserver'],
        /error 26 at 0 depth lookup: unsuitable certificate purpose/,
      ],
    ]
    for (const [profile, extra, expected] of cases) {
      const pki = await open(profile)
      const v = await verify(pki, host(pki, 'ocspool.contoso.test'), extra)
      expect(v.code, JSON.stringify(profile)).not.toBe(0)
      expect(v.out, JSON.stringify(profile)).toMatch(expected)
    }
    const lookalike = await open({ leaf: { issuer: 'lookalike' } })
    expect(await text(host(lookalike, 'ocspool.contoso.test'))).toContain(
      'Issuer: CN = GTE CyberTrust Global Root',
    )
  })

  it('the PKCS#7 bundle prints the lab chain in every encoding /certsrv can send', async () => {
    const pki = await open({ intermediate: true })
    const subjects = pki.chain.map((c) => c.subject.replace(/=/g, ' = ').replace(/, /g, ', '))
    const forms: [string, string[]][] = [
      [file(pkcs7Der(pki.chain)), ['-inform', 'DER']],
      [file(pkcs7Base64(pki.chain, { armor: 'pkcs7', eol: '\r\n' })), ['-inform', 'PEM']],
      [file(pkcs7Base64(pki.chain, { armor: 'pkcs7', eol: '\n' })), ['-inform', 'PEM']],
      // BEGIN CERTIFICATE armor around PKCS#7 (AD CS style): what a client does is strip it and read DER.
      [
        file(
          Buffer.from(
            pkcs7Base64(pki.chain, { armor: 'certificate', eol: '\r\n' }).replace(
              /-----[A-Z ]+-----|\s/g,
              '',
            ),
            'base64',
          ),
        ),
        ['-inform', 'DER'],
      ],
    ]
    for (const [f, inform] of forms) {
      const out = (await ossl(['pkcs7', '-print_certs', '-noout', '-in', f, ...inform])).out
      for (const s of subjects) expect(out).toContain(`subject=${s}`)
    }
  })

  it('a TLS listener picks the certificate by SNI, falls back without it, and s_client sees the SHA-1 chain', async () => {
    const pki = await open()
    const server = labTlsServer(new TlsContexts(pki, { legacy: true }), (s) => s.end('hello\n'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    try {
      const port = (server.address() as AddressInfo).port
      const ca = file(certificatePem(pki.root.certificate))
      const client = (args: string[]) =>
        ossl(
          [
            's_client',
            '-connect',
            `127.0.0.1:${port}`,
            '-CAfile',
            ca,
            '-cipher',
            'DEFAULT:@SECLEVEL=0',
            '-showcerts',
            ...args,
          ],
          '',
        )
      const named = await client(['-servername', 'mail.contoso.test'])
      expect(named.out).toMatch(/subject=CN = mail\.contoso\.test/)
      expect(named.out).toContain('Verify return code: 0 (ok)')
      const leaf = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(named.out)![0]
      expect(await text(leaf + '\n')).toContain('Signature Algorithm: sha1WithRSAEncryption')
      const none = await client(['-noservername'])
      expect(none.out).toMatch(new RegExp(`subject=CN = ${pki.fallback.dnsNames[0]!.replace(/\./g, '\\.')}`))
      const tls10 = await client(['-tls1', '-servername', 'ocspool.contoso.test'])
      expect(tls10.out).toMatch(/Protocol *: TLSv1\n/)
    } finally {
      await new Promise((r) => server.close(r))
    }
  })
})

describe.skipIf(openssl.skip)('the lab CA across restarts', () => {
  it('survives a lab restart byte for byte; certs reset replaces it', async () => {
    const state = join(dir, 'restart-state')
    const rootOf = async (): Promise<string> => {
      await using lab = await spawnLab(['--ports', 'ephemeral', '--admin', '127.0.0.1:0', '--state', state], {
        freshPki: true,
      })
      const pki = (await (await fetch(`${lab.ready.adminUrl}/pki`)).json()) as { chain: { pem: string }[] }
      return pki.chain[0]!.pem
    }
    const first = await rootOf()
    expect(await rootOf()).toBe(first)
    expect((await runCli(['certs', 'export', '--state', state])).stdout).toBe(first)
    const reset = await runCli(['certs', 'reset', '--state', state])
    expect(reset.stderr).toContain('must be hard-reset')
    const third = await rootOf()
    expect(third).not.toBe(first)
    expect((await ossl(['x509', '-noout', '-subject', '-in', file(third)])).out).toContain(
      'cx700-lab Root CA',
    )
  }, 60_000)
})
