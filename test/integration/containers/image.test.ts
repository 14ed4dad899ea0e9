import { spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runPhone } from '../../../phone/emulator.js'
import { PhoneNet } from '../../../phone/net.js'
import { PhoneState } from '../../../phone/state.js'
import { CLI, spawnLab } from '../../helpers/process.js'
import { containerSkip, ensureTestImage, LAB_UID, TEST_IMAGE } from '../../helpers/image.js'

/**
 * podman as this machine runs it: runc (crun refuses the host's hybrid cgroups), rlimits no higher than the
 * host's, no healthcheck timers (they need systemd), the host's network so loopback is shared.
 */
function podmanRun(name: string, state: string, args: readonly string[]): string[] {
  return [
    'run',
    '--rm',
    '--name',
    name,
    '--runtime',
    'runc',
    '--network',
    'host',
    '--no-healthcheck',
    '--ulimit',
    'nofile=20000:20000',
    '--ulimit',
    'nproc=4096:4096',
    '--volume',
    `${state}:/state`,
    TEST_IMAGE,
    ...args,
  ]
}

describe.skipIf(containerSkip)('the container image, built here and run with podman (issue 37)', () => {
  beforeAll(ensureTestImage, 600_000)

  it('runs the lab as its unprivileged user, its state on the volume; a phone signs in against it', async () => {
    const state = mkdtempSync(join(tmpdir(), 'cx700-image-'))
    chownSync(state, LAB_UID, LAB_UID)
    const name = `cx700-lab-test-${process.pid}`
    try {
      await using lab = await spawnLab(['--ports', 'ephemeral', '--admin', '127.0.0.1:0'], {
        freshPki: true,
        spawner: (argv) =>
          spawn('podman', podmanRun(name, state, argv.slice(argv.indexOf(CLI) + 1)), {
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
      })
      expect((await fetch(`${lab.ready.adminUrl}/health`)).status).toBe(200)
      const user = spawnSync('podman', ['exec', name, 'id', '-u'], { encoding: 'utf8' }).stdout.trim()
      expect(user).toBe(String(LAB_UID))
      const report = await runPhone({
        net: new PhoneNet(lab.ready.endpoints),
        mac: '00:04:f2:00:37:01',
        signIn: 'alice@contoso.test',
        account: 'CORP\\alice',
        password: 'Passw0rd!',
        state: new PhoneState('3.5.6907.35'),
      })
      expect(report.endState).toBe('signed-in')
      // The lab CA is on the volume: a new container of the image keeps the phones' trust.
      expect(existsSync(join(state, 'cx700-lab', 'pki'))).toBe(true)
    } finally {
      spawnSync('podman', ['rm', '--force', '--ignore', name])
      rmSync(state, { recursive: true, force: true })
    }
  }, 120_000)
})
