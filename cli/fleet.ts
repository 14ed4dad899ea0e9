import { ScenarioError } from '../core/errors.js'
import { loadFleet, type Fleet } from '../lab/fleet/file.js'
import { startFleetView } from '../lab/fleet/server.js'
import { readFleet, type FleetRow } from '../lab/fleet/status.js'
import { hostPort, parse, table, usage } from './args.js'

export const FLEET_HELP = `Usage: cx700-lab fleet FILE [--json] [--serve HOST:PORT] [--token TOKEN]

Several labs at a glance: every lab the fleet file names (one per VLAN, site or class), read through its
admin API with its token — scenario, phones seen and signed in, faults in force, health — never its files.

FILE is YAML (problems at file:line):
  title: QA floor 2
  labs:
    - name: vlan-10
      site: firmware 3.5 line
      admin: http://10.10.0.1:8700
      token: { env: LAB10_TOKEN }     # or { file: lab10.token }, relative to FILE
    - name: vlan-20
      admin: http://10.20.0.1:8700
      token: { file: lab20.token }

Prints a table (or --json) and exits: 0 when every lab answered and is healthy, 1 otherwise.
--serve HOST:PORT serves the same as a page that reads the labs again every 5 s, each lab linked to its
dashboard; off loopback the page asks for its own token (printed, or --token), never a lab's.
`

function phones(row: FleetRow): string {
  if (!row.reachable) return '-'
  return `${row.phones.filter((p) => p.signedIn).length}/${row.phones.length} signed in`
}

function health(row: FleetRow): string {
  if (!row.reachable) return `unreachable: ${row.error ?? ''}`
  return row.healthy === true ? 'healthy' : 'unhealthy'
}

/** The fleet as the terminal prints it: one line a lab. */
export function fleetTable(rows: readonly FleetRow[]): string {
  const lines = [['LAB', 'SITE', 'SCENARIO', 'PHONES', 'FAULTS', 'HEALTH']]
  for (const r of rows)
    lines.push([
      r.name,
      r.site ?? '-',
      r.scenario ?? '-',
      phones(r),
      r.reachable ? String(r.faults.length) : '-',
      health(r),
    ])
  return table(lines)
}

function load(file: string): Fleet {
  try {
    return loadFleet(file)
  } catch (err) {
    if (err instanceof ScenarioError) throw usage(err.message)
    throw err
  }
}

/** Serves the page until SIGINT/SIGTERM. */
async function serve(fleet: Fleet, at: string, token: string | undefined): Promise<number> {
  const view = await startFleetView(fleet, { ...hostPort(at, '127.0.0.1', 'serve'), token })
  const link = view.token !== undefined ? `${view.url}/#token=${view.token}` : `${view.url}/`
  process.stdout.write(`The fleet view of ${fleet.labs.length} labs: ${link}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await view.close()
  return 0
}

export async function fleet(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    serve: { type: 'string' },
    token: { type: 'string' },
  })
  if (values.help) {
    process.stdout.write(FLEET_HELP)
    return 0
  }
  const [file, ...extra] = positionals
  if (file === undefined || extra.length > 0) throw usage('fleet takes one fleet file.')
  const read = load(file)
  if (values.serve !== undefined) return serve(read, values.serve, values.token)
  const rows = await readFleet(read)
  process.stdout.write(values.json ? `${JSON.stringify({ labs: rows }, null, 2)}\n` : `${fleetTable(rows)}\n`)
  return rows.every((r) => r.reachable && r.healthy === true) ? 0 : 1
}
