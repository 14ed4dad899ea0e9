import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { LabPki } from '../certs/pki.js'
import { systemClock } from '../core/clock.js'
import { LAB_NODE_OPTIONS, packageRoot } from '../lab/paths.js'
import type { Scenario } from '../lab/scenario/model.js'
import type { PhoneOptions } from '../phone/context.js'
import type { PhoneNet } from '../phone/net.js'
import { PhoneState } from '../phone/state.js'
import { profileArgs } from './profile.js'

export { which } from '../lab/which.js'

export interface LabProcess {
  readonly child: ChildProcess
  readonly adminUrl: string
  /** The lab's last lines of output (its JSON log), to show when a bench round fails. */
  logTail(): string
  stop(): Promise<void>
}

/** How many of the lab's last log lines a bench keeps to show with a failure. */
const LOG_TAIL_LINES = 40

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
    spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }),
): Promise<LabProcess> {
  const child = spawner([
    node,
    ...LAB_NODE_OPTIONS,
    ...profileArgs(),
    join(packageRoot(), 'dist', 'cli', 'main.js'),
    'up',
    ...args,
    // BENCH_LAB_ARGS="--capture off" starts every bench's lab with other options.
    ...(process.env.BENCH_LAB_ARGS?.split(/\s+/).filter(Boolean) ?? []),
    '--json',
    '--ports',
    'ephemeral',
    '--admin',
    '127.0.0.1:0',
    '--state',
    stateDir,
  ])
  const exited = new Promise((r) => child.once('exit', r))
  const tail: string[] = []
  const keep = (line: string): void => {
    tail.push(line)
    if (tail.length > LOG_TAIL_LINES) tail.shift()
  }
  if (child.stderr) createInterface({ input: child.stderr }).on('line', keep)
  const logTail = (): string => tail.join('\n')
  try {
    const adminUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        keep(line)
        try {
          const msg = JSON.parse(line) as { event?: string; adminUrl?: string }
          if (msg.event === 'ready' && msg.adminUrl) resolve(msg.adminUrl)
        } catch {
          // not JSON
        }
      })
      void exited.then(() => reject(new Error(`the lab exited before it was ready:\n${logTail()}`)))
    })
    return { child, adminUrl, logTail, stop: () => stopProcess(child) }
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

/** The default site with an address pool large enough for thousands of phones, as a scenario file in `dir`. */
export function crowdScenario(dir: string, name: string): string {
  const file = join(dir, `${name}.yaml`)
  const parent = JSON.stringify(join(packageRoot(), 'scenarios', 'default.yaml'))
  writeFileSync(
    file,
    `extends: ${parent}\nname: ${name}\nsite: { subnet: 10.60.0.0/20 }\n` +
      `servers:\n  dhcp:\n    pool: { start: 10.60.1.0, end: 10.60.15.250 }\n`,
  )
  return file
}

/** The MAC of the i-th phone of a crowd (Polycom's OUI, so the DHCP allow-list lets it in). */
export const crowdMac = (i: number): string =>
  `00:04:f2:${[(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`

/** The CPU time (user + system) a process has used so far, in seconds, from /proc (clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  // The fields after the command name (which may hold spaces) start at state; utime and stime are 14 and 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** A process's resident set now (VmRSS) or at its peak (VmHWM), in MiB. */
export function rssMb(pid: number, which: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(new RegExp(`${which}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0)
  return Math.round(kb / 1024)
}

/** The i-th phone of a crowd: the default scenario's user on a factory-fresh 3.5.6907.35 (no update). */
export function crowdPhone(net: PhoneNet, i: number): PhoneOptions {
  return {
    net,
    mac: crowdMac(i),
    signIn: 'alice@contoso.test',
    account: 'CORP\\alice',
    password: 'Passw0rd!',
    state: new PhoneState('3.5.6907.35'),
    timeoutMs: 10_000,
  }
}
