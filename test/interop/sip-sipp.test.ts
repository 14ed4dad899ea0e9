import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { certificatePem } from '../../certs/export.js'
import { packageRoot } from '../../lab/paths.js'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { tool } from '../helpers/tools.js'
import { freePort } from '../../core/net/tcp.js'

const run = promisify(execFile)
const sipp = tool('sipp', 'sip-tester')
const socat = tool('socat', 'socat')
const openssl = tool('openssl', 'openssl')
const dir = mkdtempSync(join(tmpdir(), 'cx700-sipp-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCENARIO = `version: 1
name: sipp
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - { signInAddress: alice@contoso.test, password: Passw0rd! }
servers:
  sip: { tcp: true, authentication: digest }
`
const SIPP_XML = join(packageRoot(), 'test', 'interop', 'sipp', 'register-subscribe.xml')

/** One sipp call of the register-subscribe scenario over TCP to host:port; resolves with its exit code. */
async function runSipp(port: number): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(
      sipp.path!,
      [
        `127.0.0.1:${port}`,
        '-p',
        String(await freePort()),
        '-t',
        't1',
        '-sf',
        SIPP_XML,
        '-s',
        'alice',
        '-m',
        '1',
        '-timeout',
        '20s',
        '-timeout_error',
        '-nostdin',
        '-trace_err',
      ],
      { timeout: 30_000, cwd: dir },
    )
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? -1, out: (e.stdout ?? '') + (e.stderr ?? '') }
  }
}

const statuses = (t: TestLab): (string | number | undefined)[] =>
  t.lab.journal
    .query({ kind: 'sip:request' })
    .map((e) => `${String(e.detail.method)} ${String(e.detail.status)}`)

describe.skipIf(sipp.skip)('sipp against the OCS pool', () => {
  it('REGISTER → 401 → REGISTER → 200 (Expires 900), then SUBSCRIBE with the provisioning data, over TCP', async () => {
    await using t = await startTestLab(SCENARIO)
    // Garbage first, on connections of its own: the pool must keep serving sipp afterwards.
    for (const junk of [
      '\u0000\u00ff'.repeat(500),
      `REGISTER sip:x SIP/2.0\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
    ]) {
      const s = createConnection({ host: '127.0.0.1', port: t.port('sip', 'sip-tcp') })
      s.on('error', () => undefined)
      s.resume() // read the 400 and the end, so that the socket closes
      s.end(junk)
      await new Promise((r) => s.once('close', r))
    }
    const r = await runSipp(t.port('sip', 'sip-tcp'))
    expect(r.code, r.out).toBe(0)
    expect(statuses(t)).toEqual(['REGISTER 401', 'REGISTER 200', 'SUBSCRIBE 200'])
  })

  it.skipIf(socat.skip)(
    'the same over TLS on 5061, with socat (OpenSSL) carrying sipp’s TCP into TLS',
    async () => {
      await using t = await startTestLab(SCENARIO)
      const ca = join(dir, 'root.pem')
      writeFileSync(ca, certificatePem(t.lab.pki.chain.at(-1)!))
      const relay = await freePort()
      const child = spawn(
        socat.path!,
        [
          `TCP-LISTEN:${relay},bind=127.0.0.1,reuseaddr,fork`,
          `OPENSSL:127.0.0.1:${t.port('sip', 'sip')},cafile=${ca},verify=1,cn=ocspool.contoso.test,snihost=ocspool.contoso.test,ciphers=DEFAULT:@SECLEVEL=0`,
        ],
        { stdio: 'ignore' },
      )
      try {
        await expect
          .poll(async () => {
            const s = createServer()
            const free = await new Promise<boolean>((r) =>
              s.once('error', () => r(false)).listen(relay, '127.0.0.1', () => r(true)),
            )
            if (free) await new Promise((r) => s.close(r))
            return free
          })
          .toBe(false)
        const r = await runSipp(relay)
        expect(r.code, r.out).toBe(0)
        expect(statuses(t)).toEqual(['REGISTER 401', 'REGISTER 200', 'SUBSCRIBE 200'])
        const hello = t.lab.journal.query({ kind: 'sip:client-hello' })[0]
        expect(hello?.detail.serverName).toBe('ocspool.contoso.test')
        expect(t.lab.journal.query({ kind: 'sip:tls-established' })).not.toHaveLength(0)
      } finally {
        child.kill('SIGTERM')
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
      }
    },
  )
})

describe.skipIf(openssl.skip)('the pool certificate with openssl s_client', () => {
  async function sClient(t: TestLab): Promise<string> {
    const ca = join(dir, `root-${Math.random().toString(36).slice(2)}.pem`)
    writeFileSync(ca, certificatePem(t.lab.pki.chain.at(-1)!))
    const p = run(
      openssl.path!,
      [
        's_client',
        '-connect',
        `127.0.0.1:${t.port('sip', 'sip')}`,
        '-servername',
        'ocspool.contoso.test',
        '-CAfile',
        ca,
        '-cipher',
        'DEFAULT:@SECLEVEL=0',
        '-showcerts',
      ],
      { timeout: 15_000 },
    )
    p.child.stdin?.end('')
    const { stdout, stderr } = await p.catch((e: { stdout?: string; stderr?: string }) => ({
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    }))
    const leaf = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(stdout)?.[0] ?? ''
    const f = join(dir, `leaf-${Math.random().toString(36).slice(2)}.pem`)
    writeFileSync(f, leaf)
    const text = await run(openssl.path!, ['x509', '-in', f, '-noout', '-text'])
    return stdout + stderr + text.stdout
  }

  it('shows the pool certificate chaining to the lab root, signed with SHA-1 as the CX700 needs', async () => {
    await using t = await startTestLab(SCENARIO)
    const out = await sClient(t)
    expect(out).toContain('Verify return code: 0 (ok)')
    expect(out).toMatch(/subject=CN ?= ?ocspool\.contoso\.test/)
    expect(out).toContain('Signature Algorithm: sha1WithRSAEncryption')
  })

  it('F11: the scenario’s SHA-256 pool certificate, which the phone must reject', async () => {
    await using t = await startTestLab(undefined, {
      file: join(packageRoot(), 'scenarios', 'f11-sha2-pool-certificate.yaml'),
    })
    const out = await sClient(t)
    expect(out).toContain('Signature Algorithm: sha256WithRSAEncryption')
    expect(t.lab.journal.query({ kind: 'sip:client-hello' })[0]?.detail.serverName).toBe(
      'ocspool.contoso.test',
    )
  })
})
