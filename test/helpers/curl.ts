import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { certificatePem } from '../../certs/export.js'
import type { TestLab } from './lab.js'
import { tool } from './tools.js'

const run = promisify(execFile)
export const curl = tool('curl', 'curl')

/**
 * curl to a lab URL as the phone would name it: --resolve sends the name to 127.0.0.1 on the lab's port, the
 * lab root is the only CA, and the SHA-1 chain is allowed (security level 0). Files go in `dir`.
 */
export async function curlTo(
  t: TestLab,
  dir: string,
  url: string,
  args: readonly string[] = [],
): Promise<{ status: number; type: string; body: Buffer }> {
  const u = new URL(url)
  const out = join(dir, `o-${Math.random().toString(36).slice(2)}`)
  writeFileSync(out, '')
  const port = u.port || (u.protocol === 'https:' ? '443' : '80')
  const ca = join(dir, 'root.pem')
  writeFileSync(ca, certificatePem(t.lab.pki.chain.at(-1)!))
  const { stdout } = await run(
    curl.path!,
    [
      '-s',
      '-o',
      out,
      '-w',
      '%{http_code} %{content_type}',
      '--resolve',
      `${u.hostname}:${port}:127.0.0.1`,
      '--cacert',
      ca,
      '--ciphers',
      'DEFAULT:@SECLEVEL=0',
      ...args,
      url,
    ],
    { timeout: 20_000 },
  )
  const [status, type] = stdout.split(' ')
  return { status: Number(status), type: type ?? '', body: readFileSync(out) }
}
