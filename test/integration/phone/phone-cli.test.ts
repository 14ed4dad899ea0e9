import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../../lab/paths.js'
import type { PhoneReport } from '../../../phone/emulator.js'
import { runCli, spawnLab } from '../../helpers/process.js'

const dir = mkdtempSync(join(tmpdir(), 'cx700-phone-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const DEFAULT = join(packageRoot(), 'scenarios', 'default.yaml')

describe('cx700-lab phone and verify', () => {
  it('runs N phones with distinct MACs against the running lab, keeps their state, and hard-resets one', async () => {
    await using lab = await spawnLab([
      DEFAULT,
      '--ports',
      'ephemeral',
      '--admin',
      '127.0.0.1:0',
      '--state',
      join(dir, 'lab'),
    ])
    const phones = join(dir, 'phones')
    const many = await runCli([
      'phone',
      '--admin',
      lab.ready.adminUrl,
      '--count',
      '3',
      '--json',
      '--state',
      phones,
    ])
    expect(many.code, many.stderr).toBe(0)
    const reports = JSON.parse(many.stdout) as PhoneReport[]
    expect(reports.map((r) => r.mac)).toEqual(['00:04:f2:00:00:01', '00:04:f2:00:00:02', '00:04:f2:00:00:03'])
    expect(reports.every((r) => r.endState === 'signed-in')).toBe(true)
    expect(existsSync(join(phones, 'phones', '00-04-f2-00-00-02.json'))).toBe(true)
    // Signed in before: no certificate download; after a hard reset: the whole bootstrap again.
    const again = await runCli([
      'phone',
      '--admin',
      lab.ready.adminUrl,
      '--mac',
      '00:04:f2:00:00:02',
      '--state',
      phones,
    ])
    expect(again.code).toBe(0)
    expect(again.stdout).not.toContain('[screen] Downloading Certificate')
    const reset = await runCli([
      'phone',
      '--admin',
      lab.ready.adminUrl,
      '--mac',
      '00:04:f2:00:00:02',
      '--state',
      phones,
      '--hard-reset',
    ])
    expect(reset.stdout).toContain('[screen] Downloading Certificate')
    expect(reset.stdout).toMatch(/→ signed-in in \d+ ms/)
    // A user the lab does not know is refused, and the exit code says so.
    const stranger = await runCli([
      'phone',
      '--admin',
      lab.ready.adminUrl,
      '--user',
      'zed@contoso.test',
      '--state',
      phones,
    ])
    expect(stranger.code).toBe(1)
    expect(stranger.stdout).toMatch(/→ (sign-in-refused|dc-not-found)/)
  })

  it('verify prints a pass/fail table and exits 1 with the first divergence when a scenario’s story is wrong', async () => {
    const ok = await runCli(['verify', DEFAULT, join(packageRoot(), 'scenarios', 'f4-no-dc-locator.yaml')])
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/default\s+pass\s+signed-in/)
    expect(ok.stdout).toContain('2 passed, 0 failed')
    const wrong = join(dir, 'wrong.yaml')
    writeFileSync(
      wrong,
      `extends: ${JSON.stringify(DEFAULT)}\nname: wrong\nexpect:\n  endState: tls-failed\n`,
    )
    const bad = await runCli(['verify', wrong])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/wrong\s+FAIL\s+signed-in\s+end state: expected tls-failed, got signed-in/)
  })
})
