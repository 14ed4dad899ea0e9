import { watch, writeFileSync, rmSync, mkdirSync, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import { startAdmin, type AdminServer } from '../lab/admin/server.js'
import { ScenarioError } from '../core/errors.js'
import { createLogger, type Logger } from '../core/logger.js'
import { defaultScenarioPath, defaultStateDir } from '../lab/paths.js'
import { Lab, type PortPolicy } from '../lab/runtime.js'
import { startMemoryReducer } from '../core/memory.js'
import { loadScenario } from '../lab/scenario/load.js'
import type { Scenario } from '../lab/scenario/model.js'
import { loadPack, type ExercisePack } from '../lab/training/pack.js'
import { trainingOnLab } from '../lab/training/on-lab.js'
import type { TrainingSession } from '../lab/training/session.js'
import { NETWORK_MODES, type NetworkMode } from '../core/site.js'
import { endpointTable, hostPort, intOption, parse, usage } from './args.js'
import { DEFAULT_ADMIN, currentFile } from './discover.js'
import { runInterfaceMode } from './interface.js'

export const UP_HELP = `Usage: cx700-lab up [SCENARIO] [options]

Starts the lab on SCENARIO (default: the embedded scenarios/default.yaml) and serves until SIGINT/SIGTERM.

Options:
  --mode MODE        loopback (default; 127.0.0.1, unprivileged ports), netns, interface
  --interface IF     the link phones are on: DHCP answers only there (netns), or the NIC to serve (interface)
  --address A/N      interface mode: the lab's address on IF's segment, e.g. 10.50.0.1/24
  --admin HOST:PORT  admin API address (default 127.0.0.1:8700; a non-loopback address needs a bearer token);
                     unix:/path listens on a unix socket instead
  --token TOKEN      the bearer token to require (default: $CX700_LAB_TOKEN, else generated and printed once)
  --state DIR        state directory (default $XDG_STATE_HOME/cx700-lab)
  --ports POLICY     scenario (default) or ephemeral (port 0 wherever the scenario names none)
  --watch            reload the scenario file when it changes (a bad edit keeps the old scenario)
  --journal-memory-mb N   how much of the journal is kept in memory (default 8; older events stay in the file)
  --journal-file-mb N     rotate journal.jsonl at this size, keeping one older file (default 256; 0: never)
  --capture SCOPE         whose traffic is kept for captures: phones (default: the devices known by MAC), all, off
  --capture-device-mb N   how much of each device's traffic is kept for captures (default 4; 0: none)
  --capture-mb N          how much traffic is kept for captures in all (default 32; 0: none)
  --training PACK    a training session on the exercise pack (cx700-lab train PACK says more)
  --json             print one JSON line {"event":"ready",…} on stdout instead of the table; logs as JSON
  -h, --help         this text
`

const OPTIONS = {
  mode: { type: 'string' },
  admin: { type: 'string' },
  token: { type: 'string' },
  state: { type: 'string' },
  ports: { type: 'string' },
  watch: { type: 'boolean' },
  json: { type: 'boolean' },
  'journal-memory-mb': { type: 'string' },
  'journal-file-mb': { type: 'string' },
  'capture-mb': { type: 'string' },
  training: { type: 'string' },
  'capture-device-mb': { type: 'string' },
  capture: { type: 'string' },
  interface: { type: 'string' },
  address: { type: 'string' },
} as const

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values']

/** What `up` was asked for, checked: everything but the scenario, which is read next. */
export interface UpPlan {
  readonly file: string
  readonly stateDir: string
  readonly mode: NetworkMode | undefined
  readonly ports: PortPolicy
  readonly admin: { readonly host: string; readonly port: number }
  /** A unix socket for the admin API instead of host:port. */
  readonly adminPath: string | undefined
  readonly token: string | undefined
  readonly json: boolean
  readonly watch: boolean
  readonly training: string | undefined
  readonly interface: string | undefined
  readonly address: string | undefined
  readonly journal: { readonly capacityBytes?: number; readonly fileMaxBytes?: number }
  readonly capture: {
    readonly perDeviceBytes: number
    readonly totalBytes: number
    readonly scope: 'all' | 'phones'
  }
}

const MB = 1024 * 1024

/** The command line as a plan; a usage error names the option. Nothing is read or bound. */
export function parseUp(argv: string[], env: NodeJS.ProcessEnv = process.env): UpPlan | 'help' {
  const { values, positionals } = parse(argv, OPTIONS)
  if (values.help) return 'help'
  if (positionals.length > 1) throw usage('up takes one scenario file.')
  const mode = values.mode as NetworkMode | undefined
  if (mode !== undefined && !NETWORK_MODES.includes(mode))
    throw usage(`--mode is one of ${NETWORK_MODES.join(', ')}, not "${mode}".`)
  const ports = (values.ports ?? 'scenario') as PortPolicy
  if (ports !== 'scenario' && ports !== 'ephemeral')
    throw usage(`--ports is scenario or ephemeral, not "${String(values.ports)}".`)
  const adminPath = values.admin?.startsWith('unix:') ? values.admin.slice(5) : undefined
  return {
    file: positionals[0] ?? defaultScenarioPath(),
    stateDir: values.state ?? defaultStateDir(),
    mode,
    ports,
    admin: values.admin !== undefined && adminPath === undefined ? hostPort(values.admin) : DEFAULT_ADMIN,
    adminPath,
    // From the environment too: a container's token comes from a Secret, and never shows in its arguments.
    token: values.token ?? (env.CX700_LAB_TOKEN || undefined),
    json: values.json === true || !process.stdout.isTTY,
    watch: values.watch === true,
    training: values.training,
    interface: values.interface,
    address: values.address,
    journal: journalSizes(values),
    capture: captureSizes(values),
  }
}

function journalSizes(values: Values): UpPlan['journal'] {
  const memoryMb = intOption(values['journal-memory-mb'], 'journal-memory-mb')
  const fileMb = intOption(values['journal-file-mb'], 'journal-file-mb')
  if ((memoryMb !== undefined && memoryMb < 1) || (fileMb !== undefined && fileMb < 0))
    throw usage('--journal-memory-mb takes 1 or more, --journal-file-mb 0 or more.')
  return {
    ...(memoryMb !== undefined ? { capacityBytes: memoryMb * MB } : {}),
    ...(fileMb !== undefined ? { fileMaxBytes: fileMb * MB } : {}),
  }
}

function captureSizes(values: Values): UpPlan['capture'] {
  const captureMb = intOption(values['capture-mb'], 'capture-mb')
  const deviceMb = intOption(values['capture-device-mb'], 'capture-device-mb')
  if ((captureMb ?? 0) < 0 || (deviceMb ?? 0) < 0)
    throw usage('--capture-mb and --capture-device-mb take 0 or more.')
  if (values.capture !== undefined && !['phones', 'all', 'off'].includes(values.capture))
    throw usage('--capture takes phones, all or off.')
  const off = values.capture === 'off'
  return {
    perDeviceBytes: off ? 0 : (deviceMb ?? 4) * MB,
    totalBytes: off ? 0 : (captureMb ?? 32) * MB,
    scope: values.capture === 'all' ? 'all' : 'phones',
  }
}

/** `cx700-lab up`: parse, read the scenario (every problem before any socket binds), build, serve. */
export async function up(argv: string[]): Promise<number> {
  const plan = parseUp(argv)
  if (plan === 'help') {
    process.stdout.write(UP_HELP)
    return 0
  }
  const logger: Logger = createLogger({
    pretty: !plan.json && process.stderr.isTTY,
    level: process.env.LAB_LOG_LEVEL ?? 'info',
  })
  let scenario: Scenario
  let pack: ExercisePack | undefined
  try {
    pack = plan.training !== undefined ? loadPack(plan.training) : undefined
    scenario = loadScenario(plan.file)
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err
    process.stderr.write(err.message + '\n')
    return 1
  }
  if ((plan.mode ?? scenario.network.mode) === 'interface') return interfaceMode(plan, scenario, logger)
  let lab: Lab
  try {
    lab = buildLab(plan, scenario, logger)
  } catch (err) {
    process.stderr.write(`${startFailure(err, plan.stateDir)}\n`)
    return 1
  }
  return serve(plan, lab, pack, logger)
}

const UNWRITABLE = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM'])

/**
 * Why the lab could not start, in words: a state folder it cannot write (a full disk names no path of its
 * own: "ENOSPC: no space left on device, write") is named, with what the lab needs there.
 */
export function startFailure(err: unknown, stateDir: string): string {
  const message = (err as Error).message
  const code = (err as { code?: unknown }).code
  const cause = ((err as { cause?: { code?: unknown } }).cause ?? {}).code
  // A socket refused (EACCES on port 53 as a user) is a bind problem, whose message says so: not the folder's.
  if (code === 'LAB_ERR_SERVER_BIND') return message
  if (!UNWRITABLE.has(String(code)) && !UNWRITABLE.has(String(cause))) return message
  return `Failed to start: the lab's state folder ${stateDir} cannot be written (${message}). The lab keeps its PKI, journal and run files there and needs a few MiB free in it: free some space, or pass --state DIR on another disk.`
}

/** Interface mode: the lab in a namespace of its own on the NIC, reached through the host (cli/interface.ts). */
function interfaceMode(plan: UpPlan, scenario: Scenario, logger: Logger): Promise<number> {
  const iface = plan.interface ?? scenario.network.interface
  if (iface === undefined) throw usage('interface mode needs --interface (the NIC the phones are on).')
  if (plan.address === undefined || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(plan.address))
    throw usage(
      'interface mode needs --address A.B.C.D/N, the lab address on that segment (e.g. 10.50.0.1/24).',
    )
  return runInterfaceMode({
    file: plan.file,
    stateDir: plan.stateDir,
    iface,
    address: plan.address,
    admin: plan.admin,
    json: plan.json,
    watch: plan.watch,
    logger,
    ...(plan.token !== undefined ? { token: plan.token } : {}),
  })
}

function buildLab(plan: UpPlan, scenario: Scenario, logger: Logger): Lab {
  return new Lab({
    scenario,
    logger,
    stateDir: plan.stateDir,
    ports: plan.ports,
    capture: plan.capture,
    journal: plan.journal,
    ...(plan.mode ? { mode: plan.mode } : {}),
    ...(plan.interface !== undefined ? { interface: plan.interface } : {}),
  })
}

/** Starts the lab and its admin API, says where they are, and serves until SIGINT or SIGTERM. */
async function serve(
  plan: UpPlan,
  lab: Lab,
  pack: ExercisePack | undefined,
  logger: Logger,
): Promise<number> {
  const reducer = startMemoryReducer(logger)
  let admin: AdminServer
  let session: TrainingSession | undefined
  try {
    await lab.start()
    session = pack ? await trainingOnLab(lab, pack) : undefined
    admin = await startAdmin(lab, {
      ...plan.admin,
      ...(session ? { training: session } : {}),
      ...(plan.adminPath !== undefined ? { path: plan.adminPath } : {}),
      ...(plan.token !== undefined ? { token: plan.token } : {}),
    })
  } catch (err) {
    reducer.stop()
    await lab.stop()
    process.stderr.write(`${startFailure(err, plan.stateDir)}\n`)
    return 1
  }
  const info = {
    adminUrl: admin.url,
    scenario: lab.scenario.name,
    endpoints: lab.endpoints(),
    ...(admin.token ? { token: admin.token } : {}),
  }
  lab.writeRunInfo(info)
  const current = writeCurrent(plan.stateDir, { pid: process.pid, runDir: lab.runDir, ...info })
  // Watch before announcing readiness, so that an edit made right after the ready line is seen.
  const unwatch = plan.watch ? watchScenario(plan.file, lab, logger) : () => undefined
  process.stdout.write(
    plan.json
      ? readyLine(lab, info)
      : session
        ? trainBanner({
            scenario: lab.scenario.name,
            mode: lab.network.mode,
            runDir: lab.runDir,
            adminUrl: admin.url,
            ...(admin.token ? { token: admin.token } : {}),
            pack: session.pack,
            trainees: session.trainees(),
          })
        : banner(lab, admin),
  )
  await untilSignal(logger)
  unwatch()
  reducer.stop()
  await admin.close()
  await lab.stop()
  rmSync(current, { force: true })
  return 0
}

/** The file that tells other commands where the running lab is (`cx700-lab` reads it to find the lab). */
function writeCurrent(stateDir: string, info: object): string {
  const current = currentFile(stateDir)
  mkdirSync(dirname(current), { recursive: true })
  writeFileSync(current, JSON.stringify(info) + '\n', { mode: 0o600 })
  return current
}

function readyLine(lab: Lab, info: object): string {
  const journal = `${lab.runDir}/journal.jsonl`
  return JSON.stringify({ event: 'ready', pid: process.pid, runDir: lab.runDir, journal, ...info }) + '\n'
}

function banner(lab: Lab, admin: AdminServer): string {
  const table = endpointTable(lab.endpoints(), admin.url)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
  return (
    `\n  cx700-lab — TEST LAB ONLY. Scenario "${lab.scenario.name}" (${lab.network.mode}).\n\n${table}\n\n` +
    `  Dashboard and admin API: ${admin.url}${admin.token ? `  (bearer token: ${admin.token})` : ''}\n` +
    `  Journal:   ${lab.runDir}/journal.jsonl\n` +
    `  Next:      npx cx700-lab phone   (an emulated CX700 boots and signs in; watch it on the dashboard)\n\n`
  )
}

/** What the training banner says: the lab, where its console is, the pack and the trainees. */
export interface TrainBannerInfo {
  readonly scenario: string
  readonly mode: string
  readonly runDir: string
  readonly adminUrl: string
  readonly token?: string
  readonly pack: ExercisePack
  readonly trainees: readonly { readonly name: string; readonly device: string; readonly token: string }[]
}

/**
 * The banner of `cx700-lab train`: the pack, the trainer's console, and each trainee's own link (a session
 * restored after a restart has them already; new trainees get theirs in the console).
 */
export function trainBanner(i: TrainBannerInfo): string {
  const hands = i.pack.exercises.filter((e) => e.kind === 'fix').length
  const links = i.trainees.length
    ? i.trainees.map((t) => `    ${t.name} (${t.device}): ${i.adminUrl}/trainee#token=${t.token}`).join('\n')
    : '    none yet: add each trainee in the console with the MAC of their phone; their link appears there'
  return (
    `\n  cx700-lab — TEST LAB ONLY. Training class "${i.pack.name}" on scenario "${i.scenario}" (${i.mode}).\n` +
    `  Pack:      ${i.pack.file} — ${i.pack.exercises.length} exercises, ${hands} hands-on\n` +
    `  Console:   ${i.adminUrl}/${i.token ? `#token=${i.token}` : ''}\n` +
    `  Trainees:\n${links}\n` +
    `  Journal:   ${i.runDir}/journal.jsonl\n` +
    `  Next:      open the console, add each trainee with their phone's MAC and assign an exercise;\n` +
    `             an emulated phone for a trainee: npx cx700-lab phone --mac 00:04:f2:00:00:02 --live forever\n\n`
  )
}

/** Resolves at the first SIGINT or SIGTERM; a second one while the lab stops is ignored, so nothing is cut short. */
function untilSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'stopping')
      resolve()
    }
    process.on('SIGINT', () => stop('SIGINT'))
    process.on('SIGTERM', () => stop('SIGTERM'))
  })
}

/**
 * Reloads the scenario when one of its files changes (a bad edit is refused and the old scenario keeps
 * serving); returns what stops watching. Editors that save by rename leave a watch on a deleted file, so the
 * paths are watched again after every change.
 */
function watchScenario(file: string, lab: Lab, logger: Logger): () => void {
  let watchers: FSWatcher[] = []
  let timer: NodeJS.Timeout | undefined
  let watched: readonly string[] = lab.scenario.files
  const reload = async (): Promise<void> => {
    try {
      const next = loadScenario(file)
      await lab.reload(next)
      watchFiles(next.files)
      logger.info({ scenario: next.name }, 'scenario file changed: reloaded')
    } catch (err) {
      watchFiles(watched)
      logger.error(
        { problems: err instanceof ScenarioError ? err.problems.length : undefined },
        `reload refused, the old scenario keeps serving: ${(err as Error).message}`,
      )
    }
  }
  const watchOne = (f: string): FSWatcher[] => {
    try {
      return [
        watch(f, () => {
          clearTimeout(timer)
          timer = setTimeout(() => void reload(), 150)
        }),
      ]
    } catch (err) {
      logger.warn({ file: f }, `cannot watch the scenario file: ${(err as Error).message}`)
      return []
    }
  }
  const watchFiles = (files: readonly string[]): void => {
    watched = files
    for (const w of watchers) w.close()
    watchers = files.flatMap(watchOne)
  }
  watchFiles(lab.scenario.files)
  return () => {
    clearTimeout(timer)
    for (const w of watchers) w.close()
  }
}
