import type { ClockView } from '../lab/client/index.js'
import { parse, usage } from './args.js'
import { CLIENT_OPTIONS, client } from './commands.js'

export const CLOCK_HELP = `Usage: cx700-lab clock [show|rate N|advance DURATION] [options]

The running lab's one clock: every server, the journal and emulated phones follow it. Run it fast to live
through days in minutes, or move it on at once; timers it passes (registrations expiring, leases, an emulated
phone's daily cycle) fire in order. The journal records each change and, from then on, wall time beside lab time.

  clock show               lab time, wall time, rate (the default)
  clock rate N             run N lab seconds per wall second (1 real time, 3600 an hour a second, 0 stopped)
  clock advance DURATION   move lab time forward at once, e.g. 24h, 90m, 7d

Options: --json, --admin URL, --token T, --state DIR (to find the running lab).
`

function show(view: ClockView): string {
  return `lab time   ${view.labTime}\nwall time  ${view.wallTime}\nrate       ${view.rate}× real time\ntimers     ${view.pending} planned\n`
}

export async function clock(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } })
  if (values.help) {
    process.stdout.write(CLOCK_HELP)
    return 0
  }
  const [verb = 'show', arg, ...extra] = positionals
  if (extra.length > 0) throw usage(`clock ${verb} takes one argument.`)
  const lab = client(values)
  let view: ClockView
  switch (verb) {
    case 'show':
      view = await lab.clock()
      break
    case 'rate':
      if (arg === undefined || !/^\d+(\.\d+)?$/.test(arg))
        throw usage(`clock rate takes a number of lab seconds per wall second, not "${arg ?? ''}".`)
      view = await lab.changeClock({ rate: Number(arg) })
      break
    case 'advance':
      if (arg === undefined) throw usage('clock advance takes a duration, e.g. 24h.')
      view = await lab.changeClock({ advance: arg })
      break
    default:
      throw usage(`clock takes show, rate or advance, not "${verb}".`)
  }
  process.stdout.write(values.json ? JSON.stringify(view, null, 2) + '\n' : show(view))
  return 0
}
