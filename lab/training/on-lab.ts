import type { Lab } from '../runtime.js'
import { loadScenario } from '../scenario/load.js'
import type { ExercisePack } from './pack.js'
import { TrainingSession } from './session.js'
import { fileStore } from './store.js'

/**
 * A training session on a running lab: exercises' faults through its fault engine, every step in its journal,
 * an exercise's story on the trainee's phone alone through the lab's device views where it can be, else a
 * reload of the lab (the end of it, a reload of the scenario the session began on);
 * kept in the lab's state folder as it changes, and restored from it when the lab starts again.
 */
export async function trainingOnLab(lab: Lab, pack: ExercisePack): Promise<TrainingSession> {
  const base = lab.scenario
  const session = new TrainingSession(pack, {
    faults: lab.faults,
    journal: lab.journal,
    stories: {
      plan: (file) => lab.devicePlan(loadScenario(file)),
      confine: (mac, file) => void lab.confine(mac, file === undefined ? undefined : loadScenario(file)),
      labWide: (file) => lab.reload(file === undefined ? base : loadScenario(file)),
    },
    store: fileStore(lab.stateDir),
  })
  await session.restore()
  return session
}
