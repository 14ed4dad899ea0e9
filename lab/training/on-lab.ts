import { inferEndState } from '../admin/screen.js'
import { buildTimelines } from '../admin/timeline.js'
import type { Lab } from '../runtime.js'
import { loadScenario } from '../scenario/load.js'
import { applyEdits } from './edits.js'
import type { ExercisePack } from './pack.js'
import { TrainingSession, type PhoneVerdict } from './session.js'
import { fileStore } from './store.js'

/** What a phone showed at its last boot after journal event `afterSeq`: the one screen inference of the lab. */
export function phoneVerdict(lab: Lab, mac: string, afterSeq: number): PhoneVerdict {
  const events = lab.journal.query({ afterSeq }, 100_000)
  const lane = buildTimelines(events, lab.clock.now()).find((d) => d.macs.includes(mac))
  const booted = lane?.events.some((e) => e.kind === 'dhcp:request' && e.detail.type === 'DISCOVER') === true
  // Signed in with everything working: a phone signed in without Exchange (F22–F25) is not fixed yet.
  const signedIn = lane !== undefined && inferEndState(lane.events) === 'signed-in'
  return { booted, signedIn, screen: lane?.screen ?? 'Starting' }
}

/**
 * A training session on a running lab: exercises' faults through its fault engine, every step in its journal,
 * an exercise's story on the trainee's phone alone through the lab's device views where it can be (with the
 * trainee's own changes made), else a reload of the lab (the end of it, a reload of the scenario the session
 * began on); a fix judged by the phone's screen; kept in the lab's state folder as it changes, and restored
 * from it when the lab starts again.
 */
export async function trainingOnLab(lab: Lab, pack: ExercisePack): Promise<TrainingSession> {
  const base = lab.scenario
  const session = new TrainingSession(pack, {
    faults: lab.faults,
    journal: lab.journal,
    stories: {
      plan: (file) => lab.devicePlan(loadScenario(file)),
      confine: (mac, file, edits = []) =>
        void lab.confine(mac, file === undefined ? undefined : applyEdits(loadScenario(file), edits)),
      labWide: (file) => lab.reload(file === undefined ? base : loadScenario(file)),
    },
    judge: (mac, afterSeq) => phoneVerdict(lab, mac, afterSeq),
    store: fileStore(lab.stateDir),
  })
  await session.restore()
  return session
}
