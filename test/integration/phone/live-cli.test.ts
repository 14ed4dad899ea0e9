import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LabClient } from '../../../lab/client/index.js'
import { packageRoot } from '../../../lab/paths.js'
import type { LifeReport } from '../../../phone/life.js'
import { CLI, runCli, spawnEphemeralLab } from '../../helpers/process.js'

const dir = mkdtempSync(join(tmpdir(), 'cx700-live-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const MAC = '00:04:f2:00:00:01'

describe('cx700-lab phone --live', () => {
  it('lives on the running lab’s fast clock, and reboots when told to (cx700-lab phone reboot MAC)', async () => {
    await using lab = await spawnEphemeralLab(join(dir, 'lab'), [
      join(packageRoot(), 'scenarios', 'default.yaml'),
    ])
    const admin = lab.ready.adminUrl
    const client = new LabClient(admin)
    // An hour of lab time in about ten seconds.
    await client.changeClock({ rate: 360 })
    const phone = spawn(
      process.execPath,
      [CLI, 'phone', '--admin', admin, '--live', '1h', '--json', '--state', join(dir, 'phones')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    phone.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const exited = once(phone, 'exit')
    try {
      await expect
        .poll(
          async () => (await client.journal({ kind: 'sip:request' })).some((e) => e.detail.status === 200),
          {
            timeout: 20_000,
          },
        )
        .toBe(true)
      const told = await runCli(['phone', 'reboot', MAC, '--admin', admin])
      expect(told.code, told.stderr).toBe(0)
      const [command] = await client.journal({ kind: 'lab:phone-command' })
      expect(command?.summary).toContain(`reboot asked of the emulated phone ${MAC}`)
      // The reboot: DHCP again from the same MAC after the command.
      await expect
        .poll(
          async () =>
            (await client.journal({ kind: 'dhcp:request', device: MAC })).some(
              (e) => e.seq > command!.seq && e.summary.startsWith('DISCOVER'),
            ),
          { timeout: 20_000 },
        )
        .toBe(true)
      const [code] = (await exited) as [number]
      expect(code).toBe(0)
      const [report] = JSON.parse(out) as LifeReport[]
      expect(report).toMatchObject({ mac: MAC, stopped: 'time', endState: 'signed-in' })
      expect(report!.reboots).toBeGreaterThanOrEqual(1)
      expect(report!.boots.length).toBeGreaterThanOrEqual(2)
    } finally {
      if (phone.exitCode === null) phone.kill('SIGKILL')
    }
  }, 60_000)
})
