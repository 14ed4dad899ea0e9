import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Lab } from '../lab/runtime.js'
import { checkExpectations, type Divergence } from '../lab/scenario/expect.js'
import { loadScenario } from '../lab/scenario/load.js'
import type { Scenario } from '../lab/scenario/model.js'
import { parseDuration } from '../core/schema/common.js'
import { createLogger, type Logger } from '../core/logger.js'
import type { PhoneReport } from '../phone/emulator.js'
import { parse, table, usage } from './args.js'
import { journalEvents } from './journal-source.js'
import { client } from './commands.js'
import { normalizeMac } from '../core/journal/devices.js'
import { inferEndState, inferStatus } from '../lab/admin/screen.js'
import { goldenOf } from '../lab/admin/golden.js'
import { deviceEvents } from '../lab/admin/timeline.js'
import type { JournalEvent } from '../core/journal/journal.js'
import { proofTable, proveStories } from './prove.js'
import { observeOnLab } from './observe.js'

export const VERIFY_HELP = `Usage: cx700-lab verify SCENARIO… [--state DIR] [--json]
       cx700-lab verify --prove STORY… [--parallel N] [--json]
       cx700-lab verify SCENARIO --device MAC [--journal FILE | --lab URL [--next-boot]] [--json]

For each scenario: starts the lab on loopback (ephemeral ports), runs the scenario's emulated CX700 (its
phone: block — who signs in and what they type, firmware, MAC, guesses, used before or factory-fresh, one boot
or a life of lab days and phases; by default a factory-fresh 1.0.522.101 booting once as the scenario's first
user with the right password), and checks the scenario's expect: block
(end state, status lines, loops, firmware, journal rules). A living phone moves the lab clock on whenever it
waits, so days take seconds. Prints a pass/fail table with the first divergence of each
failure. Exit 0 when every scenario passes, 1 otherwise.

  --state DIR   keep the lab's state (its CA) here (default: a temporary folder, removed afterwards)
  --json        one JSON document with every result

With --prove: proves that each story's cause (its cause: block, pointers into its own file) is what makes it
end where it does: the story must pass as written, fail without its cause (ending where cause.without says,
signed-in by default), and fail with the cause of every other story given that extends the same base and ends
the same — unless cause.alike names it (the phone sees the two the same). Runs the same lab only once, N at
a time (default: the host's cores). Exit 0 when every story is proved.

With --device: judges a phone that is not emulated — a hardware CX700 on the lab — against the scenario's
expect: block, from what the servers saw of it: the running lab's journal (--lab, --admin), or a saved
journal.jsonl (--journal FILE, yesterday's run). The end state and the status lines are inferred from the
servers' events (lab/admin/infer.ts says how, and what no server can see); the journal rules are checked on
that device's events and the lab's own. It judges the device's last boot; with --next-boot it waits on the
running lab for the device's next one (power-cycle the phone now) and judges it once the phone has been
quiet for --settle (default 20s of wall time) — within --timeout (default 10m). A phone that signed in
before skips the trust bootstrap (the CA search, /certsrv) and the firmware download: when such a boot fails,
verify says so and when to hard-reset.
`

export interface VerifyResult {
  readonly scenario: string
  readonly file: string
  readonly passed: boolean
  readonly divergences: readonly Divergence[]
  readonly report: PhoneReport
  /** What a reader should know to read a failure (a used phone judged against a first boot's story). */
  readonly hint?: string
}

/** What a failed verify of a used phone's boot says: what such a phone skips, and how to make it new again. */
export const USED_PHONE_HINT =
  'this boot skipped the trust bootstrap (no search for the CA objects in AD, no /certsrv) yet reached the pool: the phone has signed in before and keeps the lab’s root, and it also skips the one-time firmware download. A story that expects a first boot needs a hard-reset phone (spec §6.4; the CX600 family: power off, hold * and # while powering on), or compare its boots with a golden timeline of a used boot.'

/** Runs the scenario's emulated phone against a started lab and checks the scenario's expectations. */
export async function verifyOnLab(lab: Lab): Promise<VerifyResult> {
  const scenario = lab.scenario
  const { report, outcome, events } = await observeOnLab(lab)
  const divergences = checkExpectations(scenario.expect, outcome, events)
  return {
    scenario: scenario.name,
    file: scenario.file,
    passed: divergences.length === 0,
    divergences,
    report,
  }
}

/** Starts the lab on a scenario file, verifies it, stops the lab. */
export async function verifyScenario(
  file: string,
  stateDir: string,
  logger: Logger = createLogger({ quietByDefault: true, pretty: true }),
): Promise<VerifyResult> {
  const lab = new Lab({ scenario: loadScenario(file), logger, stateDir, ports: 'ephemeral' })
  await lab.start()
  try {
    return await verifyOnLab(lab)
  } finally {
    await lab.stop()
  }
}

/** A phone the lab did not emulate, judged from the journal (a hardware CX700; issue 22). */
export async function verifyDevice(
  scenario: Scenario,
  mac: string,
  events: readonly JournalEvent[],
): Promise<VerifyResult | undefined> {
  const found = deviceEvents(events, mac)
  if (!found) return undefined
  const { timeline } = found
  const endState = inferEndState(timeline.events)
  const status = inferStatus(timeline.events)
  const last = timeline.events.at(-1)
  const divergences = checkExpectations(
    scenario.expect,
    {
      endState,
      status,
      loops: timeline.loops,
      ...(last ? { lastStep: `${last.kind}: ${last.summary}` } : {}),
    },
    found.events,
  )
  return {
    scenario: scenario.name,
    file: scenario.file,
    passed: divergences.length === 0,
    divergences,
    report: { mac, endState, status, steps: [], learnt: { inferred: true, loops: timeline.loops }, ms: 0 },
    // The kind of the device's last boot, read as golden timelines read it (lab/admin/golden.ts).
    ...(divergences.length > 0 && goldenOf(timeline).boot?.kind === 'used' ? { hint: USED_PHONE_HINT } : {}),
  }
}

export async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    state: { type: 'string' },
    json: { type: 'boolean' },
    device: { type: 'string' },
    journal: { type: 'string' },
    lab: { type: 'string' },
    admin: { type: 'string' },
    token: { type: 'string' },
    'next-boot': { type: 'boolean' },
    prove: { type: 'boolean' },
    parallel: { type: 'string' },
    settle: { type: 'string' },
    timeout: { type: 'string' },
  })
  if (values.help || positionals.length === 0) {
    process.stdout.write(VERIFY_HELP)
    return values.help ? 0 : 2
  }
  if (values.device !== undefined) {
    if (positionals.length !== 1) throw usage('verify --device judges one phone against one scenario.')
    const scenario = loadScenario(positionals[0]!)
    const events =
      values['next-boot'] === true
        ? await nextBoot(values, values.device, {
            settleMs: parseDuration(values.settle ?? '20s'),
            timeoutMs: parseDuration(values.timeout ?? '10m'),
          })
        : await journalEvents(values)
    const result = await verifyDevice(scenario, values.device, events)
    if (!result) {
      process.stderr.write(`no event of device ${values.device} in the journal\n`)
      return 1
    }
    return printResults([result], values.json === true)
  }
  if (values.prove === true) return prove(positionals, values)
  const temp = values.state === undefined ? mkdtempSync(join(tmpdir(), 'cx700-verify-')) : undefined
  const stateDir = values.state ?? temp!
  const results: VerifyResult[] = []
  try {
    for (const file of positionals) results.push(await verifyScenario(file, stateDir))
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true })
  }
  return printResults(results, values.json === true)
}

/**
 * The events of a device's next boot on the running lab: from its first DHCP request after now, until it has
 * been quiet for `settleMs` (wall time: a phone signs in in seconds whatever the lab clock does). Rejects when
 * no boot began, or none settled, within `timeoutMs`.
 */
async function nextBoot(
  values: {
    lab?: string | undefined
    admin?: string | undefined
    token?: string | undefined
    state?: string
  },
  device: string,
  o: { readonly settleMs: number; readonly timeoutMs: number },
): Promise<JournalEvent[]> {
  if (values.lab === undefined && values.admin === undefined && values.state === undefined)
    process.stderr.write('waiting on the lab at the default admin address (--lab URL to name another)\n')
  const lab = client({ ...values, admin: values.lab ?? values.admin })
  const mac = normalizeMac(device)
  const after = (await lab.journal({ limit: 1 })).at(-1)?.seq ?? 0
  const events: JournalEvent[] = []
  const controller = new AbortController()
  let began = false
  let quiet: NodeJS.Timeout | undefined
  const settled = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller.abort()
      reject(usage(`no boot of ${mac} ${began ? 'settled' : 'began'} within ${formatMs(o.timeoutMs)}.`))
    }, o.timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      controller.abort()
      resolve()
    }
    process.stderr.write(`waiting for ${mac} to boot (power it on or cycle it now)…\n`)
    void lab
      .followJournal(
        { afterSeq: after },
        (e) => {
          events.push(e)
          const mine = e.device?.mac === mac
          if (!began && mine && e.kind === 'dhcp:request') {
            began = true
            process.stderr.write(
              `${mac} is booting; judging once it has been quiet for ${formatMs(o.settleMs)}\n`,
            )
          }
          if (began && mine) {
            clearTimeout(quiet)
            quiet = setTimeout(done, o.settleMs)
          }
        },
        controller.signal,
      )
      .catch((err: unknown) => {
        clearTimeout(timer)
        reject(err instanceof Error ? err : new Error(String(err)))
      })
  })
  try {
    await settled
  } finally {
    clearTimeout(quiet)
  }
  return events
}

const formatMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`)

/** verify --prove: each story passes, fails without its cause, fails with its neighbours' causes. */
async function prove(
  files: readonly string[],
  values: { json?: boolean; parallel?: string },
): Promise<number> {
  const parallel = values.parallel === undefined ? undefined : Number(values.parallel)
  if (parallel !== undefined && !(Number.isInteger(parallel) && parallel >= 1 && parallel <= 64))
    throw usage(`--parallel takes 1 to 64 labs at once, not "${values.parallel}".`)
  const started = performance.now()
  const logger = createLogger({ quietByDefault: true, pretty: true })
  const proofs = await proveStories(files, { logger, ...(parallel ? { parallel } : {}) })
  const seconds = Math.round((performance.now() - started) / 1000)
  if (values.json === true) process.stdout.write(`${JSON.stringify(proofs, null, 2)}\n`)
  else process.stdout.write(proofTable(proofs, seconds))
  return proofs.every((p) => p.proved) ? 0 : 1
}

/** The pass/fail table (or JSON) of verify, and its exit code. */
function printResults(results: readonly VerifyResult[], json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
  else {
    const rows = [['SCENARIO', 'RESULT', 'END STATE', 'FIRST DIVERGENCE']]
    for (const r of results) {
      const d = r.divergences[0]
      rows.push([
        r.scenario,
        r.passed ? 'pass' : 'FAIL',
        r.report.endState,
        d ? `${d.what}: expected ${d.expected}, got ${d.got}` : '',
      ])
    }
    process.stdout.write(`${table(rows)}\n`)
    for (const r of results) if (r.hint !== undefined) process.stdout.write(`\n${r.scenario}: ${r.hint}\n`)
    const failed = results.filter((r) => !r.passed).length
    process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`)
  }
  return results.every((r) => r.passed) ? 0 : 1
}
