import { describe, expect, it } from 'vitest'
import type { RuleStatus } from '../../core/faults/engine.js'
import type { RegistrationView } from '../../servers/sip/registrar.js'
import type { Endpoint as ServerEndpoint } from '../runtime.js'
import type { ScriptStatus as ServerScriptStatus } from '../script.js'
import type { JournalFileStatus as ServerJournalFileStatus } from '../../core/journal/journal.js'
import type {
  Endpoint,
  FaultInForce,
  FleetRow,
  JournalFileStatus,
  Lane,
  Registration,
  ScriptStatus,
} from './browser/wire.js'
import { TOOLS } from '../training/pack.js'
import { TRAINEE_TOOLS } from './browser/wire.js'
import type { DeviceTimeline } from './timeline.js'
import type { FleetRow as ServerFleetRow } from '../fleet/status.js'

/*
 * The pages' types of what the admin API answers (lab/admin/browser/wire.ts: the browser program cannot load
 * the server's modules) held to the server's at compile time (npm run typecheck): a field renamed on one side
 * fails here, not in a browser.
 */
/** True when what the server answers can be read as what the page expects (plain assignability). */
type Reads<Server, Page> = [Server] extends [Page] ? true : false

describe('the pages read what the admin API answers', () => {
  it('lanes, endpoints, faults, the script, registrations, the journal file’s state and the fleet’s rows as the server types them', () => {
    const held: [
      Reads<DeviceTimeline, Lane>,
      Reads<ServerEndpoint, Endpoint>,
      Reads<RuleStatus, FaultInForce>,
      Reads<ServerScriptStatus, ScriptStatus>,
      Reads<RegistrationView, Registration>,
      Reads<ServerJournalFileStatus, JournalFileStatus>,
      Reads<ServerFleetRow, FleetRow>,
    ] = [true, true, true, true, true, true, true]
    expect(held).toEqual([true, true, true, true, true, true, true])
  })

  it('the trainee page knows every tool a pack can hand out, and no other', () => {
    expect([...TRAINEE_TOOLS]).toEqual([...TOOLS])
  })
})
