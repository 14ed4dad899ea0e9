import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LabError } from '../core/errors.js'
import { packageRoot } from '../lab/paths.js'

/** A command: its help and what it runs. Loaded when named, so `up` does not load the emulator or the tools. */
interface Command {
  readonly help: string
  run(argv: string[]): Promise<number> | number
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  up: async () => {
    const m = await import('./up.js')
    return { help: m.UP_HELP, run: m.up }
  },
  train: async () => {
    const m = await import('./train.js')
    return { help: m.TRAIN_HELP, run: m.train }
  },
  phone: async () => {
    const m = await import('./phone.js')
    return { help: m.PHONE_HELP, run: m.phone }
  },
  verify: async () => {
    const m = await import('./verify.js')
    return { help: m.VERIFY_HELP, run: m.verify }
  },
  validate: async () => {
    const m = await import('./commands.js')
    return { help: m.VALIDATE_HELP, run: m.validate }
  },
  journal: async () => {
    const m = await import('./commands.js')
    return { help: m.JOURNAL_HELP, run: m.journal }
  },
  fault: async () => {
    const m = await import('./commands.js')
    return { help: m.FAULT_HELP, run: m.fault }
  },
  endpoints: async () => {
    const m = await import('./commands.js')
    return { help: m.ENDPOINTS_HELP, run: m.endpoints }
  },
  scenario: async () => {
    const m = await import('./commands.js')
    return { help: m.SCENARIO_HELP, run: m.scenario }
  },
  dns: async () => {
    const m = await import('./dns.js')
    return { help: m.DNS_HELP, run: m.dns }
  },
  certs: async () => {
    const m = await import('./certs.js')
    return { help: m.CERTS_HELP, run: m.certs }
  },
  kerberos: async () => {
    const m = await import('./kerberos.js')
    return { help: m.KERBEROS_HELP, run: m.kerberos }
  },
  script: async () => {
    const m = await import('./script.js')
    return { help: m.SCRIPT_HELP, run: m.script }
  },
  timeline: async () => {
    const m = await import('./timeline.js')
    return { help: m.TIMELINE_HELP, run: m.timeline }
  },
  capture: async () => {
    const m = await import('./capture.js')
    return { help: m.CAPTURE_HELP, run: m.capture }
  },
  clock: async () => {
    const m = await import('./clock.js')
    return { help: m.CLOCK_HELP, run: m.clock }
  },
  fleet: async () => {
    const m = await import('./fleet.js')
    return { help: m.FLEET_HELP, run: m.fleet }
  },
  preflight: async () => {
    const m = await import('./preflight.js')
    return { help: m.PREFLIGHT_HELP, run: m.preflightCommand }
  },
  schema: async () => {
    const { ScenarioSchema } = await import('../lab/scenario/schema.js')
    return {
      help: 'Usage: cx700-lab schema\n\nPrints the scenario JSON Schema.\n',
      run: () => {
        process.stdout.write(JSON.stringify(ScenarioSchema, null, 2) + '\n')
        return 0
      },
    }
  },
}

const HELP = `cx700-lab — test-double network servers for the Polycom CX700. TEST LAB ONLY.

Usage: cx700-lab COMMAND [options]

Commands:
  up [SCENARIO]        start the lab (default: the embedded default scenario, loopback, no root)
  train PACK [SCENARIO]   a training session: the lab, an exercise pack, the trainer's console and trainee pages
  validate FILE…       check scenario files, print every problem with file:line:col
  journal              print or follow what every server saw and answered
  fault add|list|remove|clear   inject faults into the running lab
  endpoints            the running lab's port map
  dns list|add|remove|undo|reset   change the running lab's DNS records
  certs show|export|reset          the lab CA kept in the state directory
  clock [show|rate N|advance D]    the lab's clock: run it fast, move it on
  kerberos keytab FILE             the lab realm's service keys for MIT's tools (kvno -k)
  script [status|pause|resume|skip|restart]   the running scenario's script
  timeline export|diff             a phone's boot as a golden timeline, and two of them compared
  capture --device MAC [--stage S] a phone's traffic as a pcapng for Wireshark (TLS secrets inside)
  preflight --interface IF         check a host before real phones meet the lab on IF
  fleet FILE [--serve H:P]         several labs at a glance (terminal, or a page with --serve)
  scenario load FILE   swap the running lab's scenario
  schema               print the scenario JSON Schema
  phone                boot an emulated CX700 against the running lab (--count N for many)
  verify SCENARIO…     start the lab on each scenario, run the emulator, check its expect: block

Every command takes --help. Exit codes: 0 ok, 1 failed, 2 bad usage.
`

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h': {
        const named = rest[0] !== undefined ? COMMANDS[rest[0]] : undefined
        process.stdout.write(named ? (await named()).help : HELP)
        return command === undefined ? 2 : 0
      }
      case '--version':
      case 'version': {
        const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
          version: string
        }
        process.stdout.write(`${pkg.version}\n`)
        return 0
      }
    }
    const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined
    if (!load) {
      process.stderr.write(`cx700-lab: unknown command "${command}".\n\n${HELP}`)
      return 2
    }
    return await (await load()).run(rest)
  } catch (err) {
    if (err instanceof LabError) {
      process.stderr.write(`cx700-lab: ${err.message}\n`)
      return err.code === 'LAB_ERR_CLI_USAGE' ? 2 : 1
    }
    throw err
  }
}
