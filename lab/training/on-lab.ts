import type { Lab } from '../runtime.js'
import { loadScenario } from '../scenario/load.js'
import type { ExercisePack } from './pack.js'
import { TrainingSession } from './session.js'

/**
 * A training session on a running lab: exercises' faults through its fault engine, every step in its journal,
 * and an exercise's story a reload of the lab (the end of it, a reload of the scenario the session began on).
 */
export function trainingOnLab(lab: Lab, pack: ExercisePack): TrainingSession {
  const base = lab.scenario
  return new TrainingSession(pack, {
    faults: lab.faults,
    journal: lab.journal,
    story: (file) => lab.reload(file === undefined ? base : loadScenario(file)),
  })
}
