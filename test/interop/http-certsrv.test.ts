import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import type { FaultRule } from '../../lab/client/index.js'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { tool } from '../helpers/tools.js'

const run = promisify(execFile)
const curl = tool('curl', 'curl')
const openssl = tool('openssl', 'openssl')
const dir = mkdtempSync(join(tmpdir(), 'cx700-certsrv-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const PATH = '/certsrv/certnew.p7b?ReqID=CACert&Renewal=-1&Enc='
const USER = ['-u', 'CONTOSO\\alice:Passw0rd!']

async function fetchCurl(t: TestLab, args: string[], enc = 'b64'): Promise<{ status: number; body: Buffer }> {
  const out = join(dir, `body-${Math.random().toString(36).slice(2)}`)
  const { stdout } = await run(
    curl.path!,
    ['-s', '-o', out, '-w', '%{http_code}', ...args, `http://127.0.0.1:${t.port('http')}${PATH}${enc}`],
    {
      timeout: 15_000,
    },
  )
  const { readFileSync } = await import('node:fs')
  return { status: Number(stdout), body: readFileSync(out) }
}

/** The subjects openssl prints from a PKCS#7 (DER, or base64 inside either armor). */
async function subjects(body: Buffer): Promise<string[]> {
  const der =
    body[0] === 0x30
      ? body
      : Buffer.from(body.toString('latin1').replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64')
  const f = join(dir, `p7-${Math.random().toString(36).slice(2)}`)
  writeFileSync(f, der)
  const { stdout } = await run(openssl.path!, ['pkcs7', '-inform', 'DER', '-print_certs', '-noout', '-in', f])
  return stdout.split('\n').filter((l) => l.startsWith('subject='))
}

const labSubjects = (t: TestLab): string[] =>
  t.lab.pki.chain.map((c) => `subject=${c.subject.replace(/=/g, ' = ')}`)

describe.skipIf(curl.skip ?? openssl.skip)('/certsrv with curl and openssl', () => {
  it('answers 401 Negotiate + NTLM, then the chain to curl --ntlm, as base64 in AD CS armor with CRLF', async () => {
    await using t = await startTestLab()
    expect((await fetchCurl(t, [])).status).toBe(401)
    const { status, body } = await fetchCurl(t, ['--ntlm', ...USER])
    expect(status).toBe(200)
    const text = body.toString('latin1')
    expect(text.startsWith('-----BEGIN CERTIFICATE-----\r\n')).toBe(true)
    expect(await subjects(body)).toEqual(labSubjects(t))
    const der = await fetchCurl(t, ['--ntlm', ...USER], 'bin')
    expect(der.body[0]).toBe(0x30)
    expect(await subjects(der.body)).toEqual(labSubjects(t))
    expect((await fetchCurl(t, ['--ntlm', '-u', 'CONTOSO\\alice:wrong'])).status).toBe(401)
    const events = t.lab.journal.query({ kind: 'http:request' })
    expect(events.filter((e) => e.detail.status === 200).map((e) => e.detail.user)).toEqual([
      'alice@contoso.test',
      'alice@contoso.test',
    ])
    expect(events.at(-1)?.summary).toContain('wrong password (STATUS_LOGON_FAILURE)')
  })

  it('refuses a Negotiate token that is no Kerberos ticket, every time (real tickets: kerberos-mit.test.ts)', async () => {
    await using t = await startTestLab()
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const get = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const r = request(
          {
            host: '127.0.0.1',
            port: t.port('http'),
            path: `${PATH}b64`,
            agent,
            headers: { authorization: `Negotiate ${Buffer.from('\x60\x82kerberos').toString('base64')}` },
          },
          (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          },
        )
        r.on('error', reject)
        r.end()
      })
    try {
      expect([await get(), await get()]).toEqual([401, 401])
    } finally {
      agent.destroy()
    }
  })

  it('faults: 404, 401 forever, DER when b64 was asked, a chain from the wrong CA, a truncated body', async () => {
    await using t = await startTestLab()
    const add = (rule: Omit<FaultRule, 'match'>) =>
      t.client.addFault({ match: { server: 'http', fields: { path: '/certsrv/*' } }, times: 1, ...rule })
    await add({ fault: { kind: 'error', code: '404' } })
    expect((await fetchCurl(t, ['--ntlm', ...USER])).status).toBe(404)
    await add({ fault: { kind: 'error', code: '401' }, times: 3 })
    expect((await fetchCurl(t, ['--ntlm', ...USER])).status).toBe(401)
    await t.client.clearFaults()
    await add({ fault: { kind: 'answer', set: { encoding: 'bin' } }, times: 2 })
    const der = await fetchCurl(t, ['--ntlm', ...USER])
    expect(der.body[0]).toBe(0x30)
    await t.client.clearFaults()
    await add({ fault: { kind: 'answer', set: { chain: 'untrusted' } }, times: 2 })
    const wrong = await fetchCurl(t, ['--ntlm', ...USER])
    expect(await subjects(wrong.body)).toEqual([expect.stringContaining('Untrusted CA')])
    await t.client.clearFaults()
    await add({ fault: { kind: 'truncate', bytes: 100 }, times: 2 })
    const cut = await fetchCurl(t, ['--ntlm', ...USER])
    expect(cut.body.length).toBe(100)
  })
})

describe.skipIf(curl.skip ?? openssl.skip)('HTTPS on the lab PKI', () => {
  const httpsPort = (t: TestLab): number => t.lab.endpoints().find((e) => e.name === 'https')!.port
  const rootFile = (t: TestLab): string => {
    const f = join(dir, `root-${Math.random().toString(36).slice(2)}.pem`)
    writeFileSync(f, t.lab.pki.root.certificate.toString('pem') + '\n')
    return f
  }
  async function sClient(port: number, args: string[]): Promise<string> {
    const p = run(
      openssl.path!,
      ['s_client', '-connect', `127.0.0.1:${port}`, '-cipher', 'DEFAULT:@SECLEVEL=0', ...args],
      { timeout: 15_000 },
    )
    p.child.stdin?.end('')
    try {
      const { stdout, stderr } = await p
      return stdout + stderr
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string }
      return (e.stdout ?? '') + (e.stderr ?? '')
    }
  }

  it('picks the host’s certificate by SNI, verifies against the lab root, speaks TLS 1.0 for CE clients', async () => {
    await using t = await startTestLab()
    const port = httpsPort(t)
    const ca = rootFile(t)
    const named = await sClient(port, ['-servername', 'dc1.contoso.test', '-CAfile', ca])
    expect(named).toMatch(/subject=CN = dc1\.contoso\.test/)
    expect(named).toContain('Verify return code: 0 (ok)')
    const tls10 = await sClient(port, ['-noservername', '-tls1'])
    expect(tls10).toMatch(/Protocol *: TLSv1\n/)
    expect(tls10).not.toContain('Cipher is (NONE)')
  })

  it('serves /certsrv over HTTPS with NTLM; modern curl refuses the SHA-1 chain unless told to accept it', async () => {
    await using t = await startTestLab()
    const url = `https://dc1.contoso.test:${httpsPort(t)}${PATH}bin`
    const base = [
      '-s',
      '--cacert',
      rootFile(t),
      '--resolve',
      `dc1.contoso.test:${httpsPort(t)}:127.0.0.1`,
      '--ntlm',
      ...USER,
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
    ]
    const strict = await run(curl.path!, [...base, url]).catch((e: { code?: number }) => e)
    expect((strict as { code?: number }).code).toBe(60) // "CA signature digest algorithm too weak": SHA-1, as the CX700 needs
    expect((await run(curl.path!, [...base, '--ciphers', 'DEFAULT:@SECLEVEL=0', url])).stdout).toBe('200')
  })

  it('refuses TLS 1.0 when the scenario turns legacy TLS off', async () => {
    await using t = await startTestLab(
      'version: 1\nname: modern\nsite: { sipDomain: contoso.test }\nusers:\n  - { signInAddress: alice@contoso.test, password: Passw0rd! }\nservers:\n  http: { legacyTls: false }\n',
    )
    expect(await sClient(httpsPort(t), ['-noservername', '-tls1'])).toContain('Cipher is (NONE)')
    expect(await sClient(httpsPort(t), ['-noservername', '-tls1_2'])).not.toContain('Cipher is (NONE)')
  })
})
