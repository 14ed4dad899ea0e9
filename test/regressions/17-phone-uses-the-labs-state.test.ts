import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import type { PhoneReport } from '../../phone/emulator.js'
import { runCli, spawnEphemeralLab } from '../helpers/process.js'

/*
 * Issue 17, finding 3: `cx700-lab phone` read the default state directory unless --state was given, so
 * against a fresh lab started with --state DIR it found roots from another lab's CA and ended tls-untrusted
 * (F28's symptom on a fresh lab). Its help says the default is the lab's state directory; now it is.
 */
const dir = mkdtempSync(join(tmpdir(), 'cx700-phone-state-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const DEFAULT = join(packageRoot(), 'scenarios', 'default.yaml')
const env = { XDG_STATE_HOME: join(dir, 'xdg') }
const lab = (state: string, freshPki = false) => spawnEphemeralLab(state, [DEFAULT], { freshPki })
const phone = async (adminUrl: string): Promise<PhoneReport> => {
  const out = await runCli(['phone', '--admin', adminUrl, '--json'], env)
  return JSON.parse(out.stdout) as PhoneReport // one phone: one report
}

describe('cx700-lab phone keeps its phones in the running lab’s state directory', () => {
  it('signs in to a second lab with a CA of its own, without --state', async () => {
    {
      await using first = await lab(join(dir, 'xdg', 'cx700-lab'))
      expect((await phone(first.ready.adminUrl)).endState).toBe('signed-in')
    }
    await using second = await lab(join(dir, 'second'), true)
    const report = await phone(second.ready.adminUrl)
    expect(report.endState).toBe('signed-in')
    expect(existsSync(join(dir, 'second', 'phones', '00-04-f2-00-00-01.json'))).toBe(true)
  }, 60_000)
})
