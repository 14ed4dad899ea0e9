import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAdmin, type AdminServer } from '../../lab/admin/server.js'
import { LabClient } from '../../lab/client/index.js'
import type { LabClock } from '../../core/clock.js'
import type { CaptureOptions } from '../../core/capture/store.js'
import { testLogger } from '../../core/logger.js'
import { Lab } from '../../lab/runtime.js'
import { loadScenario } from '../../lab/scenario/load.js'
import { loadPack } from '../../lab/training/pack.js'
import { trainingOnLab } from '../../lab/training/on-lab.js'
import { harvestTestPki, seedTestPki } from './pki-cache.js'

export const MINIMAL_SCENARIO = `version: 1
name: test
site:
  sipDomain: contoso.test
users:
  - signInAddress: alice@contoso.test
    password: Passw0rd!
`

export interface TestLab extends AsyncDisposable {
  readonly lab: Lab
  readonly admin: AdminServer
  readonly client: LabClient
  readonly dir: string
  /** Writes a scenario file in the lab's folder and returns its path. */
  write(name: string, yaml: string): string
  /** The bound port of a server's socket (its first, or the one named, e.g. port('http', 'https')). */
  port(server: string, socket?: string): number
}

/** A lab on 127.0.0.1 with every port ephemeral, its admin API, and a temporary state folder; all removed on dispose. */
export async function startTestLab(
  yaml = MINIMAL_SCENARIO,
  options: {
    clock?: LabClock
    adminHost?: string
    /** load this file instead of `yaml` */ file?: string
    /** an exercise pack: the admin API runs a training session on it */ training?: string
    /** what the lab keeps for captures (default: phones, 4 MiB each, 32 MiB in all) */ capture?: CaptureOptions
    /** how many journal events memory holds (default 100,000) */ journalCapacity?: number
    /** the folder the lab's temporary folder is made in (default the system's) */ parent?: string
  } = {},
): Promise<TestLab> {
  const dir = mkdtempSync(join(options.parent ?? tmpdir(), 'cx700-lab-'))
  const write = (name: string, text: string): string => {
    const file = join(dir, name)
    writeFileSync(file, text)
    return file
  }
  const scenario = loadScenario(options.file ?? write('scenario.yaml', yaml))
  const stateDir = join(dir, 'state')
  seedTestPki(stateDir)
  const lab = new Lab({
    scenario,
    logger: testLogger(),
    stateDir,
    ports: 'ephemeral',
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.capture ? { capture: options.capture } : {}),
    ...(options.journalCapacity !== undefined ? { journal: { capacity: options.journalCapacity } } : {}),
  })
  await lab.start()
  let admin: AdminServer
  try {
    admin = await startAdmin(lab, {
      host: options.adminHost ?? '127.0.0.1',
      port: 0,
      ...(options.training ? { training: await trainingOnLab(lab, loadPack(options.training)) } : {}),
    })
  } catch (err) {
    await lab.stop()
    throw err
  }
  const url = admin.url.replace('0.0.0.0', '127.0.0.1')
  return {
    lab,
    admin,
    client: new LabClient(url, admin.token),
    dir,
    write,
    port: (server, socket) => {
      const e = lab
        .endpoints()
        .find((p) => p.server === server && (socket === undefined || p.name === socket))
      if (!e) throw new Error(`no ${server} ${socket ?? ''} endpoint`)
      return e.port
    },
    async [Symbol.asyncDispose]() {
      await admin.close()
      await lab.stop()
      harvestTestPki(stateDir)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
