import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { seededRandom } from '../../core/random.js'
import { runCli, spawnEphemeralLab } from '../helpers/process.js'

/*
 * Issue 16, finding 9: a `certs reset` killed part-way (SIGKILL at the sixth delete) left a state the lab
 * refused to start from, with a misleading "check that the state directory is writable"; earlier kills kept
 * the old CA silently. The reset is now atomic. Here it is killed at seeded moments, again and again, and
 * after each kill the state holds either whole CAs or none, and a lab starts on it.
 */
const dir = mkdtempSync(join(tmpdir(), 'cx700-reset-kill-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const CLI = join(packageRoot(), 'dist', 'cli', 'main.js')
const state = join(dir, 'state')

/** Every CA folder (root-, intermediate-, untrusted-, lookalike-…) has both its certificate and its key. */
function whole(): boolean {
  const pki = join(state, 'pki')
  if (!existsSync(pki)) return true
  return readdirSync(pki)
    .filter((n) => /^(root|intermediate|untrusted|lookalike)-/.test(n))
    .every((n) => existsSync(join(pki, n, 'cert.pem')) && existsSync(join(pki, n, 'key.pem')))
}

async function resetKilledAfter(ms: number): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'certs', 'reset', '--state', state], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const timer = setTimeout(() => child.kill('SIGKILL'), ms)
  await exited
  clearTimeout(timer)
}

describe('certs reset killed at any moment', () => {
  it('leaves whole CAs or none, and the lab starts on what is left', async () => {
    const random = seededRandom(16)
    for (let round = 0; round < 8; round++) {
      {
        // A CA to reset: a lab makes one (the test's PKI cache is not used: these are real CAs on disk).
        await using lab = await spawnEphemeralLab(state, [], { freshPki: true })
        expect(lab.ready.endpoints.length).toBeGreaterThan(0)
      }
      await resetKilledAfter(Math.floor(random() * 400))
      expect(whole(), `round ${round}`).toBe(true)
    }
    const shown = await runCli(['certs', 'show', '--state', state])
    expect(shown.code, shown.stderr).toBe(0)
    await using last = await spawnEphemeralLab(state, [], {
      freshPki: true,
    })
    expect(last.ready.endpoints.length).toBeGreaterThan(0)
    expect(readdirSync(state).filter((n) => n.startsWith('pki.reset-'))).toEqual([])
  }, 120_000)
})
