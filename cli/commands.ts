import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { AdminRequestError, type LabClient } from '../lab/client/index.js'
import { ScenarioError, formatProblem } from '../core/errors.js'
import type { FaultRule } from '../core/faults/types.js'
import type { JournalEvent, JournalFilter } from '../core/journal/journal.js'
import { matchesFilter } from '../core/journal/journal.js'
import { loadScenario } from '../lab/scenario/load.js'
import { intOption, parse, table, usage } from './args.js'
import { findLab } from './discover.js'
import { readJournalSaying } from './journal-file.js'

export const CLIENT_OPTIONS = {
  admin: { type: 'string' },
  token: { type: 'string' },
  state: { type: 'string' },
} as const

export function client(values: {
  admin?: string | undefined
  token?: string | undefined
  state?: string | undefined
}): LabClient {
  return findLab(values.admin, values.token, values.state)
}

function printProblems(err: AdminRequestError): void {
  process.stderr.write(`${err.message}\n`)
  for (const p of err.problems)
    process.stderr.write(`  ${'file' in p ? formatProblem(p) : `${p.path}  ${p.message}`}\n`)
}

export const VALIDATE_HELP = `Usage: cx700-lab validate FILE…

Checks scenario files and prints every problem as file:line:col  /path  message. Exit 1 if any is invalid.
`

export function validate(argv: string[]): number {
  const { values, positionals } = parse(argv, {})
  if (values.help) {
    process.stdout.write(VALIDATE_HELP)
    return 0
  }
  if (positionals.length === 0) throw usage('validate needs at least one scenario file.')
  let bad = 0
  for (const file of positionals) {
    try {
      const s = loadScenario(file)
      process.stdout.write(`ok  ${file}  (${s.name})\n`)
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err
      bad++
      process.stdout.write(`${err.problems.map(formatProblem).join('\n')}\n`)
    }
  }
  return bad === 0 ? 0 : 1
}

export const JOURNAL_HELP = `Usage: cx700-lab journal [options]

Prints the running lab's journal (or a journal.jsonl file with --file).

Options:
  --device D      a MAC, IP or user name
  --server S      ntp, dns, …, lab, faults
  --kind K        an event kind, or a prefix such as ntp:
  --limit N       the newest N events (default 200)
  --follow, -f    keep printing new events
  --json          one JSON event per line
  --file PATH     read a journal.jsonl instead of asking a running lab
  --admin URL     the lab's admin API (default: the running lab, else 127.0.0.1:8700)
`

function eventLine(e: JournalEvent): string {
  const who = e.device
    ? [e.device.mac, e.device.ip, e.device.user].filter(Boolean).join(' ')
    : (e.peer?.address ?? '-')
  return `${e.time.slice(11, 23)}  #${e.seq}  ${e.server.padEnd(6)} ${e.kind.padEnd(18)} ${who.padEnd(16)} ${e.summary}`
}

export async function journal(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...CLIENT_OPTIONS,
    device: { type: 'string' },
    server: { type: 'string' },
    kind: { type: 'string' },
    limit: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    json: { type: 'boolean' },
    file: { type: 'string' },
  })
  if (values.help) {
    process.stdout.write(JOURNAL_HELP)
    return 0
  }
  const filter: JournalFilter = {
    ...(values.device !== undefined ? { device: values.device } : {}),
    ...(values.server !== undefined ? { server: values.server } : {}),
    ...(values.kind !== undefined ? { kind: values.kind } : {}),
  }
  const limit = intOption(values.limit, 'limit') ?? 200
  const print = (e: JournalEvent): void => {
    process.stdout.write((values.json ? JSON.stringify(e) : eventLine(e)) + '\n')
  }
  if (values.file !== undefined) {
    const events = readJournalSaying(values.file).filter((e) => matchesFilter(e, filter))
    events.slice(-limit).forEach(print)
    return 0
  }
  const lab = client(values)
  if (!values.follow) {
    ;(await lab.journal({ ...filter, limit })).forEach(print)
    return 0
  }
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  await lab.followJournal(filter, print, abort.signal)
  return 0
}

export const ENDPOINTS_HELP = `Usage: cx700-lab endpoints [--json] [--admin URL]

Prints the running lab's port map: which address and port stands for which service of which lab host.
`

export async function endpoints(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } })
  if (values.help) {
    process.stdout.write(ENDPOINTS_HELP)
    return 0
  }
  const answer = await client(values).endpoints()
  if (values.json) {
    process.stdout.write(JSON.stringify(answer, null, 2) + '\n')
    return 0
  }
  const rows = [['SERVICE', 'TRANSPORT', 'ADDRESS', 'PORT', 'STANDARD', 'HOSTS']]
  for (const e of answer.endpoints)
    rows.push([e.name, e.transport, e.address, String(e.port), String(e.standardPort), e.hosts.join(', ')])
  process.stdout.write(`scenario ${answer.scenario} (${answer.mode})\n${table(rows)}\n`)
  return 0
}

export const FAULT_HELP = `Usage: cx700-lab fault add|list|remove|clear [options]

  fault add --server ntp --kind error --code RATE [--times 2] [--device MAC|IP|user]
  fault add --server ntp --kind answer --set offset=+3y
  fault add --server ntp --kind delay --ms 3000 [--jitter 500] [--probability 0.5]
  fault add --rule '{"match":{"server":"ntp"},"fault":{"kind":"drop"},"times":1}'
  fault list [--json]
  fault remove ID
  fault clear                       removes every fault added at runtime

Kinds: drop, delay (--ms, --jitter), reset, garbage (--bytes), corrupt (--bytes), truncate (--bytes),
error (--code), answer (--set field=value, repeatable).
Match: --server, --device, --peer (IP or CIDR), --field name=value (repeatable).
Limits: --times N, --after N (skip the first N matches), --probability P (seeded by the scenario), --id ID.
`

function keyValues(
  list: string[] | undefined,
  name: string,
): Record<string, string | number | boolean> | undefined {
  if (!list || list.length === 0) return undefined
  const out: Record<string, string | number | boolean> = {}
  for (const kv of list) {
    const i = kv.indexOf('=')
    if (i <= 0) throw usage(`--${name} takes name=value, not "${kv}".`)
    const raw = kv.slice(i + 1)
    out[kv.slice(0, i)] =
      raw === 'true' ? true : raw === 'false' ? false : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw
  }
  return out
}

function ruleFromOptions(v: Record<string, string | boolean | string[] | undefined>): FaultRule {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined)
  const list = (k: string): string[] | undefined => (Array.isArray(v[k]) ? v[k] : undefined)
  const json = str('rule')
  if (json !== undefined) {
    try {
      return JSON.parse(json) as FaultRule
    } catch {
      throw usage('--rule takes a fault rule as JSON.')
    }
  }
  const kind = str('kind')
  if (kind === undefined) throw usage('fault add needs --kind (or --rule JSON). See cx700-lab fault --help.')
  const num = (k: string): number | undefined => {
    const n = str(k)
    if (n === undefined) return undefined
    if (!/^\d+(\.\d+)?$/.test(n)) throw usage(`--${k} takes a number, not "${n}".`)
    return Number(n)
  }
  const fault: Record<string, unknown> = { kind }
  if (kind === 'delay') {
    fault.ms = num('ms') ?? 0
    if (str('jitter') !== undefined) fault.jitterMs = num('jitter')
  }
  if (kind === 'garbage' || kind === 'corrupt' || kind === 'truncate') {
    if (str('bytes') !== undefined) fault.bytes = num('bytes')
  }
  if (kind === 'error') fault.code = str('code')
  if (kind === 'answer') fault.set = keyValues(list('set'), 'set') ?? {}
  const match: Record<string, unknown> = {}
  for (const k of ['server', 'device', 'peer'] as const) if (str(k) !== undefined) match[k] = str(k)
  const fields = keyValues(list('field'), 'field')
  if (fields) match.fields = fields
  const rule: Record<string, unknown> = { fault }
  if (Object.keys(match).length > 0) rule.match = match
  for (const k of ['times', 'after', 'probability'] as const) if (str(k) !== undefined) rule[k] = num(k)
  if (str('id') !== undefined) rule.id = str('id')
  return rule as FaultRule
}

export async function fault(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CLIENT_OPTIONS,
    json: { type: 'boolean' },
    rule: { type: 'string' },
    server: { type: 'string' },
    device: { type: 'string' },
    peer: { type: 'string' },
    field: { type: 'string', multiple: true },
    kind: { type: 'string' },
    code: { type: 'string' },
    ms: { type: 'string' },
    jitter: { type: 'string' },
    bytes: { type: 'string' },
    set: { type: 'string', multiple: true },
    times: { type: 'string' },
    after: { type: 'string' },
    probability: { type: 'string' },
    id: { type: 'string' },
  })
  const [verb, ...rest] = positionals
  if (values.help || verb === undefined) {
    process.stdout.write(FAULT_HELP)
    return verb === undefined && !values.help ? 2 : 0
  }
  const lab = client(values)
  try {
    switch (verb) {
      case 'add': {
        const status = await lab.addFault(ruleFromOptions(values))
        process.stdout.write(`added fault ${status.id}\n`)
        return 0
      }
      case 'list': {
        const list = await lab.faults()
        if (values.json === true) {
          process.stdout.write(JSON.stringify(list, null, 2) + '\n')
          return 0
        }
        const rows = [['ID', 'ORIGIN', 'MATCH', 'FAULT', 'WHEN', 'MATCHED', 'APPLIED']]
        for (const r of list)
          rows.push([
            r.id,
            r.origin,
            matchText(r.rule.match),
            JSON.stringify(r.rule.fault),
            whenText(r.rule),
            String(r.matched),
            String(r.applied),
          ])
        process.stdout.write(table(rows) + '\n')
        return 0
      }
      case 'remove': {
        if (rest.length === 0) throw usage('fault remove needs an ID (see fault list).')
        for (const id of rest) await lab.removeFault(id)
        process.stdout.write(`removed ${rest.join(', ')}\n`)
        return 0
      }
      case 'clear': {
        const { cleared } = await lab.clearFaults()
        process.stdout.write(`cleared ${cleared} runtime fault(s)\n`)
        return 0
      }
      default:
        throw usage(`fault takes add, list, remove or clear, not "${verb}".`)
    }
  } catch (err) {
    if (err instanceof AdminRequestError) {
      printProblems(err)
      return 1
    }
    throw err
  }
}

export const SCENARIO_HELP = `Usage: cx700-lab scenario load FILE [--admin URL]

Validates FILE and swaps it into the running lab; on any problem the running scenario keeps serving.
`

export async function scenario(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, CLIENT_OPTIONS)
  if (values.help) {
    process.stdout.write(SCENARIO_HELP)
    return 0
  }
  const [verb, file] = positionals
  if (verb !== 'load' || file === undefined) throw usage('usage: cx700-lab scenario load FILE')
  try {
    const answer = await client(values).loadScenario(readFileSync(file, 'utf8'), resolve(file))
    process.stdout.write(`now serving ${answer.name}\n`)
    return 0
  } catch (err) {
    if (err instanceof AdminRequestError) {
      printProblems(err)
      return 1
    }
    throw err
  }
}

/** A rule's matcher as the list shows it: server, device, peer and fields (`*`: every request). */
function matchText(m: FaultRule['match']): string {
  if (!m) return '*'
  const parts = [
    m.server ?? '*',
    ...(m.device !== undefined ? [`device=${m.device}`] : []),
    ...(m.peer !== undefined ? [`peer=${JSON.stringify(m.peer)}`] : []),
    ...Object.entries(m.fields ?? {}).map(([k, v]) => `${k}=${String(v)}`),
  ]
  return parts.join(' ')
}

/** When a rule applies: its probability, the matches it waits out, how many times; `always` otherwise. */
function whenText(r: FaultRule): string {
  const parts = [
    ...(r.probability !== undefined ? [`p=${r.probability}`] : []),
    ...(r.after !== undefined ? [`after ${r.after}`] : []),
    ...(r.times !== undefined ? [`${r.times}×`] : []),
  ]
  return parts.join(', ') || 'always'
}
