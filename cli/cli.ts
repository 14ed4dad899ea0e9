import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LabError } from '../core/errors.js'
import { packageRoot } from '../lab/paths.js'
import { ScenarioSchema } from '../lab/scenario/schema.js'
import {
  ENDPOINTS_HELP,
  FAULT_HELP,
  JOURNAL_HELP,
  SCENARIO_HELP,
  VALIDATE_HELP,
  endpoints,
  fault,
  journal,
  scenario,
  validate,
} from './commands.js'
import { CERTS_HELP, certs } from './certs.js'
import { CLOCK_HELP, clock } from './clock.js'
import { KERBEROS_HELP, kerberos } from './kerberos.js'
import { SCRIPT_HELP, script } from './script.js'
import { TIMELINE_HELP, timeline } from './timeline.js'
import { TRAIN_HELP, train } from './train.js'
import { CAPTURE_HELP, capture } from './capture.js'
import { DNS_HELP, dns } from './dns.js'
import { PREFLIGHT_HELP, preflightCommand } from './preflight.js'
import { UP_HELP, up } from './up.js'
import { PHONE_HELP, phone } from './phone.js'
import { VERIFY_HELP, verify } from './verify.js'

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
  scenario load FILE   swap the running lab's scenario
  schema               print the scenario JSON Schema
  phone                boot an emulated CX700 against the running lab (--count N for many)
  verify SCENARIO…     start the lab on each scenario, run the emulator, check its expect: block

Every command takes --help. Exit codes: 0 ok, 1 failed, 2 bad usage.
`

const HELPS: Record<string, string> = {
  up: UP_HELP,
  train: TRAIN_HELP,
  validate: VALIDATE_HELP,
  journal: JOURNAL_HELP,
  fault: FAULT_HELP,
  endpoints: ENDPOINTS_HELP,
  scenario: SCENARIO_HELP,
  dns: DNS_HELP,
  certs: CERTS_HELP,
  clock: CLOCK_HELP,
  kerberos: KERBEROS_HELP,
  script: SCRIPT_HELP,
  timeline: TIMELINE_HELP,
  capture: CAPTURE_HELP,
  preflight: PREFLIGHT_HELP,
  phone: PHONE_HELP,
  verify: VERIFY_HELP,
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write((rest[0] !== undefined ? HELPS[rest[0]] : undefined) ?? HELP)
        return command === undefined ? 2 : 0
      case '--version':
      case 'version': {
        const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
          version: string
        }
        process.stdout.write(`${pkg.version}\n`)
        return 0
      }
      case 'up':
        return await up(rest)
      case 'train':
        return await train(rest)
      case 'phone':
        return await phone(rest)
      case 'verify':
        return await verify(rest)
      case 'validate':
        return validate(rest)
      case 'journal':
        return await journal(rest)
      case 'fault':
        return await fault(rest)
      case 'endpoints':
        return await endpoints(rest)
      case 'scenario':
        return await scenario(rest)
      case 'dns':
        return await dns(rest)
      case 'certs':
        return await certs(rest)
      case 'kerberos':
        return await kerberos(rest)
      case 'script':
        return await script(rest)
      case 'timeline':
        return await timeline(rest)
      case 'capture':
        return await capture(rest)
      case 'clock':
        return await clock(rest)
      case 'preflight':
        return await preflightCommand(rest)
      case 'schema':
        process.stdout.write(JSON.stringify(ScenarioSchema, null, 2) + '\n')
        return 0
      default:
        process.stderr.write(`cx700-lab: unknown command "${command}".\n\n${HELP}`)
        return 2
    }
  } catch (err) {
    if (err instanceof LabError) {
      process.stderr.write(`cx700-lab: ${err.message}\n`)
      return err.code === 'LAB_ERR_CLI_USAGE' ? 2 : 1
    }
    throw err
  }
}
