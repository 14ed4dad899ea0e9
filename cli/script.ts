import type { ScriptStatus } from '../lab/client/index.js'
import { parse, table, usage } from './args.js'
import { CLIENT_OPTIONS, client } from './commands.js'

export const SCRIPT_HELP = `Usage: cx700-lab script [status|pause|resume|skip|restart] [options]

The running scenario's script (its script: steps, each firing at a lab time or on a journal event, then
changing the lab): which steps fired and when, and the one waiting.

  script status    the steps that fired, the one waiting, paused or not (the default)
  script pause     hold it: the waiting step does not fire
  script resume    arm the waiting step again (one whose time has passed fires at once)
  script skip      pass over the waiting step without doing it
  script restart   start over from the first step (the lab stays as the steps left it)

Options: --json, --admin URL, --token T, --state DIR (to find the running lab).
`

function show(s: ScriptStatus): string {
  if (s.steps === 0) return 'the scenario has no script\n'
  const rows = [['STEP', 'NAME', 'FIRED (LAB TIME)']]
  for (const f of s.fired) rows.push([String(f.step + 1), f.name ?? '', f.at])
  const next =
    s.next === undefined ? 'done' : `step ${s.next + 1} of ${s.steps} waiting${s.paused ? ' (paused)' : ''}`
  return `${table(rows)}\n${next}\n`
}

export async function script(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } })
  if (values.help) {
    process.stdout.write(SCRIPT_HELP)
    return 0
  }
  const [verb = 'status', ...extra] = positionals
  if (extra.length > 0) throw usage(`script ${verb} takes no argument.`)
  const lab = client(values)
  let status: ScriptStatus
  if (verb === 'status') status = (await lab.script()).script
  else if (verb === 'pause' || verb === 'resume' || verb === 'skip' || verb === 'restart')
    status = (await lab.controlScript(verb)).script
  else throw usage(`script takes status, pause, resume, skip or restart, not "${verb}".`)
  process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : show(status))
  return 0
}
