import type { FastifyPluginAsync } from 'fastify'
import type { RuleStatus } from '../../../core/faults/engine.js'
import type { EndState } from '../../scenario/schema.js'
import type { Lab } from '../../runtime.js'
import { inferEndState } from '../screen.js'
import { buildTimelines } from '../timeline.js'

/** One phone as the lab saw it: its lane's key and MACs, where its last boot ended, its status line. */
export interface PhoneSummary {
  readonly key: string
  readonly macs: readonly string[]
  readonly endState: EndState
  readonly screen: string
  readonly lastTime: string
  readonly alert?: string
}

/** The lab at a glance (`GET /summary`): what a fleet view shows of it, in one small answer. */
export interface LabSummary {
  readonly scenario: string
  readonly site: { readonly adDomain: string; readonly sipDomain: string; readonly labAddress: string }
  readonly ok: boolean
  readonly phones: readonly PhoneSummary[]
  readonly faults: readonly RuleStatus[]
}

/** The events a summary reads: a lab's recent history, as the dashboard reads it. */
const EVENTS = 100_000

export function labSummary(lab: Lab): LabSummary {
  const { site } = lab.scenario
  const phones = buildTimelines(lab.journal.query({}, EVENTS), lab.clock.now()).map((t) => ({
    key: t.key,
    macs: t.macs,
    endState: inferEndState(t.events),
    screen: t.screen,
    lastTime: t.lastTime,
    ...(t.alert !== undefined ? { alert: t.alert } : {}),
  }))
  return {
    scenario: lab.scenario.name,
    site: { adDomain: site.adDomain, sipDomain: site.sipDomain, labAddress: site.labAddress },
    ok: lab.health().ok,
    phones,
    faults: lab.faults.list(),
  }
}

/** `GET /summary`, behind the admin gate like every route that carries the lab's data. */
export const summaryRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  app.get('/summary', async () => labSummary(lab))
}
