import type { FaultRule } from '../../core/faults/types.js'
import type { ScenarioDocument } from './schema.js'
import type { ServersConfig } from '../../servers/index.js'

export type { ServerName, ServersConfig } from '../../servers/index.js'
import type { Host, Network, Site, User } from '../../core/site.js'

/** A validated, derived, deep-frozen scenario: what the lab runs. */
export interface Scenario {
  /** The file it was loaded from (or `<admin>` for one posted to the admin API). */
  readonly file: string
  /** For one posted as text: the file the sender read it from, as they named it (shown, never opened). */
  readonly postedFrom?: string
  /** Every file read, the scenario's own first, then what it extends. */
  readonly files: readonly string[]
  readonly name: string
  readonly description: string
  readonly seed: number
  /** How fast lab time runs (lab ms per wall ms). */
  readonly clock: ScenarioDocument['clock']
  readonly network: Network
  readonly site: Site
  readonly users: readonly User[]
  readonly hosts: readonly Host[]
  readonly pki: ScenarioDocument['pki']
  readonly servers: ServersConfig
  readonly faults: readonly FaultRule[]
  readonly phone: ScenarioDocument['phone']
  readonly script: ScenarioDocument['script']
  readonly expect: ScenarioDocument['expect']
  /** What makes the story end where it does: pointers into its own file (`verify --prove`). */
  readonly cause?: ScenarioDocument['cause']
}
