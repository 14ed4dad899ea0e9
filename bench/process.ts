import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { LabPki } from '../certs/pki.js'
import { systemClock } from '../core/clock.js'
import { packageRoot } from '../lab/paths.js'
import type { Scenario } from '../lab/scenario/model.js'

export { which } from '../lab/which.js'

export interface LabProcess {
  readonly child: ChildProcess
  readonly adminUrl: string
  stop(): Promise<void>
}

/** Ends a child process: SIGTERM, SIGKILL after 5 s; resolves when it has exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await gone
  clearTimeout(timer)
}

/**
 * Starts `cx700-lab up` (built, on ephemeral ports, admin on an ephemeral loopback port) as a child process
 * and resolves once it says it is ready.
 */
export async function startLabProcess(
  stateDir: string,
  args: readonly string[] = [],
  node = process.execPath,
  /** How to run it (e.g. inside a network namespace); the default spawns it directly. */
  spawner: (argv: string[]) => ChildProcess = (argv) =>
    spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] }),
): Promise<LabProcess> {
  const child = spawner([
    node,
    join(packageRoot(), 'dist', 'cli', 'main.js'),
    'up',
    ...args,
    '--json',
    '--ports',
    'ephemeral',
    '--admin',
    '127.0.0.1:0',
    '--state',
    stateDir,
  ])
  const exited = new Promise((r) => child.once('exit', r))
  try {
    const adminUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { event?: string; adminUrl?: string }
          if (msg.event === 'ready' && msg.adminUrl) resolve(msg.adminUrl)
        } catch {
          // not JSON
        }
      })
      void exited.then(() => reject(new Error('the lab exited before it was ready')))
    })
    return { child, adminUrl, stop: () => stopProcess(child) }
  } catch (err) {
    await stopProcess(child)
    throw err
  }
}

/** The PKI a lab running on `stateDir` serves for a scenario (its CAs are reused from the state directory). */
export function labPki(stateDir: string, scenario: Scenario): Promise<LabPki> {
  return LabPki.open({
    stateDir,
    clock: systemClock(),
    config: scenario.pki,
    site: scenario.site,
    hosts: scenario.hosts,
    listenAddresses: ['127.0.0.1'],
  })
}
