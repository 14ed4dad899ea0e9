import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { LAB_NODE_OPTIONS, packageRoot } from '../../lab/paths.js'
import { harvestTestPki, seedTestPki } from './pki-cache.js'

export const CLI = join(packageRoot(), 'dist', 'cli', 'main.js')

export interface ReadyLine {
  readonly event: 'ready'
  readonly pid: number
  readonly adminUrl: string
  readonly runDir: string
  readonly journal: string
  readonly endpoints: readonly {
    server: string
    name: string
    transport: 'udp' | 'tcp'
    standardPort: number
    address: string
    port: number
    hosts: readonly string[]
  }[]
}

export interface LabProcess extends AsyncDisposable {
  readonly child: ChildProcess
  readonly ready: ReadyLine
  readonly stderr: () => string
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>
}

/**
 * Runs a command (by default `node dist/cli/main.js up --json …`) and resolves once it prints its ready
 * line. Disposal ends it by PID: SIGTERM, then SIGKILL if it has not gone after 5 s.
 */
export async function spawnLab(
  args: string[],
  options: { node?: string; spawner?: (argv: string[]) => ChildProcess; freshPki?: boolean } = {},
): Promise<LabProcess> {
  const stateIndex = args.indexOf('--state')
  const stateDir = stateIndex >= 0 ? args[stateIndex + 1] : undefined
  if (stateDir !== undefined && !options.freshPki) seedTestPki(stateDir)
  const argv = [options.node ?? process.execPath, ...LAB_NODE_OPTIONS, CLI, 'up', '--json', ...args]
  const child = options.spawner
    ? options.spawner(argv)
    : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  )
  const lines = createInterface({ input: child.stdout! })
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as ReadyLine
        if (msg.event === 'ready') resolve(msg)
      } catch {
        // not a JSON line
      }
    })
    void exited.then((code) => reject(new Error(`the lab exited (${code}) before it was ready:\n${err}`)))
  })
  return {
    child,
    ready,
    stderr: () => err,
    exited,
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await exited
        clearTimeout(timer)
      }
      if (stateDir !== undefined && !options.freshPki) harvestTestPki(stateDir)
    },
  }
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code: code ?? -1, stdout, stderr }
}

/**
 * A lab process of the test's own on ephemeral ports, its admin API on an ephemeral loopback port, its
 * state in `state`; `args` go first (a scenario file, --mode …).
 */
export function spawnEphemeralLab(
  state: string,
  args: string[] = [],
  options: Parameters<typeof spawnLab>[1] = {},
): Promise<LabProcess> {
  return spawnLab([...args, '--ports', 'ephemeral', '--admin', '127.0.0.1:0', '--state', state], options)
}
