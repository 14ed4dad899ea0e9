import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Lab } from '../lab/runtime.js'
import { checkExpectations, type Divergence } from '../lab/scenario/expect.js'
import { loadScenario } from '../lab/scenario/load.js'
import { createLogger, type Logger } from '../core/logger.js'
import { runPhone, type PhoneReport } from '../phone/emulator.js'
import { PhoneNet } from '../phone/net.js'
import { PhoneState } from '../phone/state.js'
import { parse, table } from './args.js'

export const VERIFY_HELP = `Usage: cx700-lab verify SCENARIO… [--state DIR] [--json]

For each scenario: starts the lab on loopback (ephemeral ports), runs one emulated CX700 against it as a
factory-fresh phone on 1.0.522.101 with the scenario's first user, and checks the scenario's expect: block
(end state, status lines, journal rules). Prints a pass/fail table with the first divergence of each
failure. Exit 0 when every scenario passes, 1 otherwise.

  --state DIR   keep the lab's state (its CA) here (default: a temporary folder, removed afterwards)
  --json        one JSON document with every result
`

export interface VerifyResult {
  readonly scenario: string
  readonly file: string
  readonly passed: boolean
  readonly divergences: readonly Divergence[]
  readonly report: PhoneReport
}

/** The MAC the verifying phone uses: Polycom's OUI, so that the DHCP allow-list lets it in. */
export const VERIFY_MAC = '00:04:f2:00:00:01'

/** Runs a factory-fresh emulated phone against a started lab and checks the scenario's expectations. */
export async function verifyOnLab(lab: Lab): Promise<VerifyResult> {
  const scenario = lab.scenario
  const user = scenario.users[0]
  const since = lab.journal.query().at(-1)?.seq ?? 0
  const report = await runPhone({
    net: new PhoneNet(lab.endpoints()),
    mac: VERIFY_MAC,
    signIn: user?.signInAddress ?? `nobody@${scenario.site.sipDomain}`,
    account: user?.userName ?? 'nobody',
    password: user?.password ?? '',
    state: new PhoneState('1.0.522.101'),
  })
  lab.journal.flush()
  const events = lab.journal.query().filter((e) => e.seq > since)
  const divergences = checkExpectations(
    scenario.expect,
    { endState: report.endState, status: report.status, lastStep: describeLast(report) },
    events,
  )
  return {
    scenario: scenario.name,
    file: scenario.file,
    passed: divergences.length === 0,
    divergences,
    report,
  }
}

function describeLast(r: PhoneReport): string | undefined {
  const s = r.steps.at(-1)
  return s ? `${s.step}: ${s.detail}` : undefined
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

export async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { state: { type: 'string' }, json: { type: 'boolean' } })
  if (values.help || positionals.length === 0) {
    process.stdout.write(VERIFY_HELP)
    return values.help ? 0 : 2
  }
  const temp = values.state === undefined ? mkdtempSync(join(tmpdir(), 'cx700-verify-')) : undefined
  const stateDir = values.state ?? temp!
  const results: VerifyResult[] = []
  try {
    for (const file of positionals) results.push(await verifyScenario(file, stateDir))
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true })
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`)
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
    const failed = results.filter((r) => !r.passed).length
    process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`)
  }
  return results.every((r) => r.passed) ? 0 : 1
}
