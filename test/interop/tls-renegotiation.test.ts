import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { CLIENT_RENEG_LIMIT } from 'node:tls'
import { describe, expect, it } from 'vitest'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { tool } from '../helpers/tools.js'

/*
 * Client-initiated renegotiation (issue "Reliability and security, second probe", finding 5), by OpenSSL's
 * s_client: each `R` on its input renegotiates the session. Every TLS listener of the lab lets a client do it
 * Node's HTTPS limit times (tls.CLIENT_RENEG_LIMIT in its window), then closes the connection and journals
 * the refusal — the SIP pool, and HTTPS both on Node's own TLS server and on the capturing path.
 */
const openssl = tool('openssl', 'openssl')

/** Asks for `times` renegotiations, each once the previous one is through; how many the lab went through with. */
async function renegotiate(port: number, times: number): Promise<number> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', 'DEFAULT:@SECLEVEL=0']
  const child = spawn(openssl.path!, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const closed = once(child, 'exit')
  const done = (): number => (out.match(/^RENEGOTIATING/gm) ?? []).length
  // Every handshake, the first and each renegotiation, fails to verify the lab's certificate (no CA given).
  const handshakes = (): number => (out.match(/verify error:num=21/g) ?? []).length
  try {
    await expect.poll(handshakes, { timeout: 5_000 }).toBe(1)
    for (let i = 0; i < times && child.exitCode === null; i++) {
      child.stdin.write('R\n')
      // Through when s_client printed it and either finished the new handshake or saw the connection go.
      await expect.poll(() => done() > i && (handshakes() > i + 1 || child.exitCode !== null)).toBe(true)
    }
  } finally {
    child.stdin.end()
    child.kill()
    await closed
  }
  return handshakes() - 1
}

async function refusedOn(t: TestLab, port: number, kind: string): Promise<void> {
  expect(await renegotiate(port, CLIENT_RENEG_LIMIT + 3)).toBe(CLIENT_RENEG_LIMIT)
  const e = await t.lab.journal.waitFor({ kind })
  expect(e.detail).toEqual({ limit: CLIENT_RENEG_LIMIT, windowS: 600 })
}

describe.skipIf(openssl.skip)('TLS renegotiation, by openssl s_client', () => {
  it('the SIP pool allows Node’s limit, then closes and journals it', async () => {
    await using t = await startTestLab()
    await refusedOn(t, t.port('sip', 'sip'), 'sip:tls-renegotiation-refused')
  })

  it('HTTPS does the same on Node’s TLS server and on the capturing path', async () => {
    await using plain = await startTestLab()
    await refusedOn(plain, plain.port('http', 'https'), 'http:tls-renegotiation-refused')
    const all = { perDeviceBytes: 1 << 20, totalBytes: 4 << 20, scope: 'all' } as const
    await using captured = await startTestLab(undefined, { capture: all })
    await refusedOn(captured, captured.port('http', 'https'), 'http:tls-renegotiation-refused')
  })
})
