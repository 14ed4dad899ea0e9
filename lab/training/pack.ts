import { dirname, join, resolve } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { ScenarioError, type ScenarioProblem } from '../../core/errors.js'
import { checkRule } from '../../core/faults/engine.js'
import { FaultRuleSchema } from '../../core/faults/types.js'
import { parseDuration } from '../../core/schema/common.js'
import { SERVER_FAULTS } from '../../servers/index.js'
import { packageRoot } from '../paths.js'
import { loadScenario } from '../scenario/load.js'
import { JournalMatchSchema } from '../scenario/schema.js'
import { locate, readYamlSource, schemaProblemsAt } from '../scenario/yaml-source.js'

/**
 * An exercise: a fault put on one trainee's phone (scoped to its device, so each trainee on the same lab can
 * have another), the question the trainee answers from choices, hints, a time limit, and what the reveal
 * shows: the trainer's notes and the journal events that prove the cause.
 */
export const ExerciseSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'Names the exercise in reports.' }),
    title: Type.String({
      minLength: 1,
      description: 'Shown to the trainer; the trainee sees it only at the reveal.',
    }),
    question: Type.String({ minLength: 1, description: 'What the trainee is asked.' }),
    choices: Type.Array(Type.String({ minLength: 1 }), { minItems: 2, description: 'The answers offered.' }),
    answer: Type.String({ minLength: 1, description: 'The right one of the choices.' }),
    hints: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'Given one at a time, counted.',
    }),
    timeLimit: Type.String({ default: '15m', description: 'How long the trainee has (e.g. 10m).' }),
    faults: Type.Array(FaultRuleSchema, {
      default: [],
      description: 'Fault rules put on the trainee’s phone alone while the exercise runs (no match.device).',
    }),
    story: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A catalogue story (its name, e.g. f6-clock-skew) or a scenario file beside the pack: the lab runs it while the exercise does — for every phone, so only one story at a time.',
      }),
    ),
    showStages: Type.Boolean({
      default: false,
      description:
        'Show the phone’s per-stage verdicts (DHCP ✓, DNS ✗) on the trainee page. Off by default: they all but name the cause, where a support engineer has only the phone’s screen and their tools.',
    }),
    notes: Type.String({ minLength: 1, description: 'The trainer’s notes: shown at the reveal.' }),
    proof: Type.Array(JournalMatchSchema, {
      default: [],
      description: 'Journal events of the trainee’s phone that prove the cause, shown at the reveal.',
    }),
  },
  { additionalProperties: false },
)
export type Exercise = Static<typeof ExerciseSchema>

export const PackSchema = Type.Object(
  {
    version: Type.Literal(1),
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    seed: Type.Integer({
      default: 1,
      description: 'Exercises drawn at random follow it (the same class twice).',
    }),
    exercises: Type.Array(ExerciseSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
)
export type ExercisePack = Static<typeof PackSchema> & { readonly file: string }

/** The checks across fields: an answer among the choices, a time limit that parses, rules the servers take. */
function crossChecks(pack: Static<typeof PackSchema>, dir: string): { pointer: string; message: string }[] {
  const out: { pointer: string; message: string }[] = []
  const ids = new Set<string>()
  pack.exercises.forEach((e, i) => {
    const at = `/exercises/${i}`
    if (ids.has(e.id))
      out.push({ pointer: `${at}/id`, message: `another exercise is already called ${e.id}` })
    ids.add(e.id)
    if (!e.choices.includes(e.answer))
      out.push({
        pointer: `${at}/answer`,
        message: `"${e.answer}" is not one of the choices (${e.choices.join(', ')})`,
      })
    try {
      if (parseDuration(e.timeLimit) <= 0) throw new Error('it must be longer than nothing')
    } catch (err) {
      out.push({
        pointer: `${at}/timeLimit`,
        message: `not a duration (e.g. 10m): ${(err as Error).message}`,
      })
    }
    if (e.faults.length === 0 && e.story === undefined)
      out.push({ pointer: at, message: 'an exercise needs faults for the trainee’s phone, or a story' })
    if (e.story !== undefined) {
      const problem = storyProblem(storyFile(e.story, dir))
      if (problem) out.push({ pointer: `${at}/story`, message: `story ${e.story}: ${problem}` })
    }
    e.faults.forEach((rule, j) => {
      if (rule.match?.device !== undefined)
        out.push({
          pointer: `${at}/faults/${j}/match/device`,
          message: 'an exercise’s faults go to the phone it is assigned to: leave device out',
        })
      for (const p of checkRule(rule, SERVER_FAULTS))
        out.push({ pointer: `${at}/faults/${j}${p.path}`, message: p.message })
    })
  })
  return out
}

/** The scenario file of an exercise's story: a file beside the pack, or a story of the catalogue by name. */
export function storyFile(story: string, packDir: string): string {
  return /\.ya?ml$/.test(story) ? resolve(packDir, story) : join(packageRoot(), 'scenarios', `${story}.yaml`)
}

function storyProblem(file: string): string | undefined {
  try {
    loadScenario(file)
    return undefined
  } catch (err) {
    return err instanceof ScenarioError
      ? `${file} does not load: ${err.problems[0]?.message ?? ''}`
      : (err as Error).message
  }
}

/** Reads and validates an exercise pack; every problem names its file:line:col (a ScenarioError). */
export function loadPack(file: string, text?: string): ExercisePack {
  const name = resolve(file)
  const read = readYamlSource(name, text, 'an exercise pack')
  if (!read.source || read.problems.length > 0) throw new ScenarioError(read.problems, 'exercise pack')
  const sources = [read.source]
  const data = structuredClone(read.data)
  const problems: ScenarioProblem[] = schemaProblemsAt(sources, PackSchema, data)
  if (problems.length === 0) {
    for (const p of crossChecks(data as Static<typeof PackSchema>, dirname(name)))
      problems.push({ ...locate(sources, p.pointer), path: p.pointer, message: p.message })
  }
  if (problems.length > 0)
    throw new ScenarioError(
      problems.sort((a, b) => a.line - b.line || a.col - b.col),
      'exercise pack',
    )
  return { ...(data as Static<typeof PackSchema>), file: name }
}
