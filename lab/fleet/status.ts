import { signedIn } from '../admin/screen.js'
import { LabClient, type LabSummary } from '../client/index.js'
import type { Fleet, FleetLab } from './file.js'

/** One lab in the fleet view: what its admin API said, or why it could not be read. */
export interface FleetRow {
  readonly name: string
  readonly site?: string
  /** The lab's dashboard (its admin API's own page; it asks for the token itself). */
  readonly dashboard: string
  readonly reachable: boolean
  /** Why the lab could not be read (unreachable, refused the token, answered an error). */
  readonly error?: string
  readonly scenario?: string
  readonly domain?: string
  readonly healthy?: boolean
  readonly phones: readonly { key: string; screen: string; signedIn: boolean; alert?: string }[]
  readonly faults: readonly string[]
}

/** How long one lab may take to answer before the view says it did not. */
const ANSWER_MS = 5_000

function rowOf(lab: FleetLab, summary: LabSummary): FleetRow {
  return {
    ...base(lab),
    reachable: true,
    scenario: summary.scenario,
    domain: summary.site.adDomain,
    healthy: summary.ok,
    phones: summary.phones.map((p) => ({
      key: p.key,
      screen: p.screen,
      signedIn: signedIn(p.endState),
      ...(p.alert !== undefined ? { alert: p.alert } : {}),
    })),
    faults: summary.faults.map(
      (f) => `${f.id}: ${f.rule.fault.kind} on ${f.rule.match?.server ?? 'every server'}`,
    ),
  }
}

function base(lab: FleetLab): Pick<FleetRow, 'name' | 'site' | 'dashboard'> {
  return {
    name: lab.name,
    ...(lab.site !== undefined ? { site: lab.site } : {}),
    dashboard: `${lab.admin.replace(/\/$/, '')}/`,
  }
}

/** Reads one lab's summary through its admin API (never its files), in bounded time. */
export async function readLab(lab: FleetLab, answerMs = ANSWER_MS): Promise<FleetRow> {
  const client = new LabClient(lab.admin, lab.token, { timeoutMs: answerMs })
  try {
    return rowOf(lab, await client.summary())
  } catch (err) {
    return { ...base(lab), reachable: false, error: (err as Error).message, phones: [], faults: [] }
  }
}

/** Every lab of the fleet, read at once. */
export function readFleet(fleet: Fleet, answerMs?: number): Promise<FleetRow[]> {
  return Promise.all(fleet.labs.map((lab) => readLab(lab, answerMs)))
}
