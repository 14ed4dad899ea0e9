import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
let counter = 0

export interface Netns extends AsyncDisposable {
  readonly name: string
  /** Runs a command inside the namespace to completion. */
  exec(
    args: string[],
    options?: { timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>
  /** Starts a long-running process inside the namespace; it is killed by PID on dispose. */
  spawn(args: string[], options?: SpawnOptions): ChildProcess
}

/**
 * A network namespace of the test's own, with only its loopback up. Traffic sent inside it stays inside
 * it. Disposal kills every process the test started in it (by PID) and deletes the namespace.
 */
export async function createNetns(): Promise<Netns> {
  const name = `cx7t-${process.pid}-${++counter}`
  await run('ip', ['netns', 'add', name])
  const children: ChildProcess[] = []
  try {
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  } catch (err) {
    await run('ip', ['netns', 'del', name])
    throw err
  }
  return {
    name,
    async exec(args, options = {}) {
      try {
        const { stdout, stderr } = await run('ip', ['netns', 'exec', name, ...args], {
          timeout: options.timeoutMs ?? 20_000,
        })
        return { code: 0, stdout, stderr }
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string }
        return {
          code: typeof e.code === 'number' ? e.code : -1,
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
        }
      }
    },
    spawn(args, options = {}) {
      const child = spawn('ip', ['netns', 'exec', name, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...options,
      })
      children.push(child)
      return child
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(
        children.map(async (c) => {
          if (c.exitCode !== null || c.signalCode !== null) return
          const gone = new Promise((r) => c.once('exit', r))
          c.kill('SIGTERM')
          const timer = setTimeout(() => c.kill('SIGKILL'), 5_000)
          await gone
          clearTimeout(timer)
        }),
      )
      await run('ip', ['netns', 'del', name])
    },
  }
}
