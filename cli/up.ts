import { watch, writeFileSync, rmSync, mkdirSync, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import { startAdmin, type AdminServer } from '../lab/admin/server.js'
import { ScenarioError } from '../core/errors.js'
import { createLogger, type Logger } from '../core/logger.js'
import { defaultScenarioPath, defaultStateDir } from '../lab/paths.js'
import { Lab, type PortPolicy } from '../lab/runtime.js'
import { startMemoryReducer } from '../core/memory.js'
import { loadScenario } from '../lab/scenario/load.js'
import { loadPack } from '../lab/training/pack.js'
import { trainingOnLab } from '../lab/training/on-lab.js'
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
  --token TOKEN      the bearer token to require (default: generated and printed once)
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

export async function up(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
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
  })
  if (values.help) {
    process.stdout.write(UP_HELP)
    return 0
  }
  if (positionals.length > 1) throw usage('up takes one scenario file.')
  const mode = values.mode as NetworkMode | undefined
  if (mode !== undefined && !NETWORK_MODES.includes(mode))
    throw usage(`--mode is one of ${NETWORK_MODES.join(', ')}, not "${mode}".`)
  const ports = (values.ports ?? 'scenario') as PortPolicy
  if (ports !== 'scenario' && ports !== 'ephemeral')
    throw usage(`--ports is scenario or ephemeral, not "${String(values.ports)}".`)
  const adminPath = values.admin?.startsWith('unix:') ? values.admin.slice(5) : undefined
  const admin = values.admin !== undefined && adminPath === undefined ? hostPort(values.admin) : DEFAULT_ADMIN
  const json = values.json === true || !process.stdout.isTTY
  const logger: Logger = createLogger({
    pretty: !json && process.stderr.isTTY,
    level: process.env.LAB_LOG_LEVEL ?? 'info',
  })
  const file = positionals[0] ?? defaultScenarioPath()
  const stateDir = values.state ?? defaultStateDir()

  // Every scenario (and exercise pack) problem is reported here, before any socket binds.
  let scenario
  let pack
  try {
    if (values.training !== undefined) pack = loadPack(values.training)
    scenario = loadScenario(file)
  } catch (err) {
    if (err instanceof ScenarioError) {
      process.stderr.write(err.message + '\n')
      return 1
    }
    throw err
  }

  if ((mode ?? scenario.network.mode) === 'interface') {
    const iface = values.interface ?? scenario.network.interface
    if (iface === undefined) throw usage('interface mode needs --interface (the NIC the phones are on).')
    if (values.address === undefined || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(values.address))
      throw usage(
        'interface mode needs --address A.B.C.D/N, the lab address on that segment (e.g. 10.50.0.1/24).',
      )
    return runInterfaceMode({
      file,
      stateDir,
      iface,
      address: values.address,
      admin,
      json,
      watch: values.watch === true,
      logger,
      ...(values.token !== undefined ? { token: values.token } : {}),
    })
  }
  const memoryMb = intOption(values['journal-memory-mb'], 'journal-memory-mb')
  const fileMb = intOption(values['journal-file-mb'], 'journal-file-mb')
  if ((memoryMb !== undefined && memoryMb < 1) || (fileMb !== undefined && fileMb < 0))
    throw usage('--journal-memory-mb takes 1 or more, --journal-file-mb 0 or more.')
  const captureMb = intOption(values['capture-mb'], 'capture-mb')
  const captureDeviceMb = intOption(values['capture-device-mb'], 'capture-device-mb')
  if ((captureMb ?? 0) < 0 || (captureDeviceMb ?? 0) < 0)
    throw usage('--capture-mb and --capture-device-mb take 0 or more.')
  if (values.capture !== undefined && !['phones', 'all', 'off'].includes(values.capture))
    throw usage('--capture takes phones, all or off.')
  const lab = new Lab({
    scenario,
    logger,
    stateDir,
    ports,
    capture: {
      perDeviceBytes: values.capture === 'off' ? 0 : (captureDeviceMb ?? 4) * 1024 * 1024,
      totalBytes: values.capture === 'off' ? 0 : (captureMb ?? 32) * 1024 * 1024,
      scope: values.capture === 'all' ? 'all' : 'phones',
    },
    journal: {
      ...(memoryMb !== undefined ? { capacityBytes: memoryMb * 1024 * 1024 } : {}),
      ...(fileMb !== undefined ? { fileMaxBytes: fileMb * 1024 * 1024 } : {}),
    },
    ...(mode ? { mode } : {}),
    ...(values.interface !== undefined ? { interface: values.interface } : {}),
  })
  let adminServer: AdminServer | undefined
  const reducer = startMemoryReducer(logger)
  try {
    await lab.start()
    adminServer = await startAdmin(lab, {
      ...admin,
      ...(pack ? { training: trainingOnLab(lab, pack) } : {}),
      ...(adminPath !== undefined ? { path: adminPath } : {}),
      ...(values.token !== undefined ? { token: values.token } : {}),
    })
  } catch (err) {
    reducer.stop()
    await lab.stop()
    process.stderr.write(`${(err as Error).message}\n`)
    return 1
  }
  const adminUrl = adminServer.url
  const info = {
    adminUrl,
    scenario: scenario.name,
    endpoints: lab.endpoints(),
    ...(adminServer.token ? { token: adminServer.token } : {}),
  }
  lab.writeRunInfo(info)
  const current = currentFile(stateDir)
  mkdirSync(dirname(current), { recursive: true })
  writeFileSync(current, JSON.stringify({ pid: process.pid, runDir: lab.runDir, ...info }) + '\n', {
    mode: 0o600,
  })

  // Watch before announcing readiness, so that an edit made right after the ready line is seen.
  let watchers: FSWatcher[] = []
  if (values.watch) {
    let timer: NodeJS.Timeout | undefined
    const reload = async (): Promise<void> => {
      try {
        const next = loadScenario(file)
        await lab.reload(next)
        restartWatch(next.files)
        logger.info({ scenario: next.name }, 'scenario file changed: reloaded')
      } catch (err) {
        // Editors that save by rename leave the old watch on a deleted file: watch the paths again.
        restartWatch(watched)
        logger.error(
          { problems: err instanceof ScenarioError ? err.problems.length : undefined },
          `reload refused, the old scenario keeps serving: ${(err as Error).message}`,
        )
      }
    }
    let watched: readonly string[] = scenario.files
    const restartWatch = (files: readonly string[]): void => {
      watched = files
      for (const w of watchers) w.close()
      watchers = files.flatMap((f) => {
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
      })
    }
    restartWatch(scenario.files)
  }

  if (json) {
    process.stdout.write(
      JSON.stringify({
        event: 'ready',
        pid: process.pid,
        runDir: lab.runDir,
        journal: `${lab.runDir}/journal.jsonl`,
        ...info,
      }) + '\n',
    )
  } else {
    process.stdout.write(
      `\n  cx700-lab — TEST LAB ONLY. Scenario "${scenario.name}" (${lab.network.mode}).\n\n` +
        endpointTable(lab.endpoints(), adminUrl)
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n') +
        `\n\n  Dashboard and admin API: ${adminUrl}${adminServer.token ? `  (bearer token: ${adminServer.token})` : ''}\n` +
        `  Journal:   ${lab.runDir}/journal.jsonl\n` +
        `  Next:      npx cx700-lab phone   (an emulated CX700 boots and signs in; watch it on the dashboard)\n\n`,
    )
  }

  return await new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'stopping')
      for (const w of watchers) w.close()
      void (async () => {
        reducer.stop()
        await adminServer?.close()
        await lab.stop()
        rmSync(current, { force: true })
        resolve(0)
      })()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
}
