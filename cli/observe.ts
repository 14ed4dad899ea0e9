import type { Lab } from '../lab/runtime.js'
import type { Outcome } from '../lab/scenario/expect.js'
import { overlaid } from '../lab/scenario/load.js'
import { parseDuration } from '../core/schema/common.js'
import { LivingPhone, type Milestone } from '../phone/life.js'
import { runPhone, type PhoneReport } from '../phone/emulator.js'
import { PhoneNet } from '../phone/net.js'
import { PhoneState } from '../phone/state.js'
import type { JournalEvent } from '../core/journal/journal.js'
import { eventWriter } from '../core/journal/events.js'
import type { LabEvents } from '../lab/events.js'
import { scenarioPhone, type ScenarioPhone } from './scenario-phone.js'

/** Runs a scenario's emulated phone on a started lab (verify, verify --prove) and gathers what it did. */

/**
 * The state the scenario's phone starts from: its firmware, and — used here before — the user, the root and
 * the pool's update URL it stored then.
 */
function phoneState(lab: Lab, who: ScenarioPhone): PhoneState {
  const { hosts, site } = lab.scenario
  const state = new PhoneState(who.firmware)
  if (who.usedBy) {
    const pool = hosts.find((h) => h.roles.includes('pool'))?.name ?? `ocspool.${site.sipDomain}`
    const https = lab.endpoints().find((e) => e.server === 'http' && e.name === 'https')?.port ?? 443
    state.everSignedIn = true
    state.user = who.usedBy.userName
    state.addRoots([lab.pki.root.certificate])
    state.dusUrl = `https://${pool}${https === 443 ? '' : `:${https}`}/RequestHandler/ucdevice.upx`
  }
  return state
}

/** The scenario's phone, once (no `live`), or living through its phases on the lab clock. */
async function runScenarioPhone(
  lab: Lab,
): Promise<{ report: PhoneReport; loops?: number; firmware: string }> {
  const scenario = lab.scenario
  const who = scenarioPhone(scenario)
  const state = phoneState(lab, who)
  const mac = who.mac
  const options = {
    net: new PhoneNet(lab.endpoints(), lab.siteAddresses()),
    mac,
    signIn: who.signIn,
    account: who.account,
    password: who.password,
    guesses: who.guesses,
    state,
    clock: lab.clock,
  }
  const { phone } = scenario
  if (phone.live === undefined && phone.then.length === 0) {
    const report = await runPhone(options)
    return { report, firmware: state.firmware }
  }
  const phases = [{ live: phone.live ?? '0s' }, ...phone.then]
  let at = 0
  const milestones: Milestone[] = []
  for (const [i, p] of phases.entries()) {
    if (i > 0)
      milestones.push({
        afterMs: at,
        run: async () => {
          if ('overlay' in p && p.overlay !== undefined) await lab.reload(overlaid(scenario, p.overlay))
          // Through the lab's mailbox, as an operator's command reaches a phone (and is journaled).
          if ('command' in p && p.command !== undefined) lab.phoneCommands.give(mac, p.command)
          return undefined
        },
      })
    at += parseDuration(p.live)
  }
  eventWriter<LabEvents>(lab.journal, 'lab')('lab:clock', {
    summary: `the lab clock moves on whenever the verifying phone waits (fast-forward through ${phases.length} phase(s), ${at / 3_600_000} lab hours)`,
    detail: { kind: 'fast-forward', labMs: at },
  })
  const life = await new LivingPhone({
    ...options,
    fastForward: true,
    liveForMs: at,
    maxLoops: phone.maxLoops,
    timings: phone.timings,
    milestones,
    commands: () => lab.phoneCommands.take(mac),
  }).run()
  const last = life.boots.at(-1)
  const report: PhoneReport = last
    ? { ...last, endState: life.endState }
    : { mac, endState: life.endState, status: [], steps: [], learnt: {}, ms: 0 }
  return { report, loops: life.loops, firmware: life.firmware }
}

/** What the scenario's phone did on a lab: its report, the outcome `expect:` judges, the lab's events meanwhile. */
export interface Observation {
  readonly report: PhoneReport
  readonly outcome: Outcome
  readonly events: readonly JournalEvent[]
}

/** Runs the scenario's emulated phone against a started lab and gathers what `expect:` rules judge. */
export async function observeOnLab(lab: Lab): Promise<Observation> {
  const since = lab.journal.query().at(-1)?.seq ?? 0
  const { report, loops, firmware } = await runScenarioPhone(lab)
  lab.journal.flush()
  const events = lab.journal.query().filter((e) => e.seq > since)
  const outcome: Outcome = {
    endState: report.endState,
    status: report.status,
    lastStep: describeLast(report),
    ...(loops !== undefined ? { loops } : {}),
    firmware,
  }
  return { report, outcome, events }
}

function describeLast(r: PhoneReport): string | undefined {
  const s = r.steps.at(-1)
  return s ? `${s.step}: ${s.detail}` : undefined
}
