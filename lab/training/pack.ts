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

/** The tools a support engineer has on a real site, as an exercise may hand them to a trainee (their view only). */
export const TOOLS = [
  'dns-lookup',
  'directory-search',
  'journal',
  'capture',
  'dns-edit',
  'dhcp-edit',
] as const
export type Tool = (typeof TOOLS)[number]

/**
 * An exercise: a fault or a story put on one trainee's phone alone (so each trainee on the same lab can have
 * another), hints, a time limit, and what the reveal shows: the trainer's notes and the journal events that
 * prove the cause. A `choice` exercise asks a question answered from choices; a `fix` exercise hands the
 * trainee tools, and the phone judges it: it ends signed in after their fix and a reboot.
 */
export const ExerciseSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'Names the exercise in reports.' }),
    title: Type.String({
      minLength: 1,
      description: 'Shown to the trainer; the trainee sees it only at the reveal.',
    }),
    kind: Type.Union([Type.Literal('choice'), Type.Literal('fix')], {
      default: 'choice',
      description:
        'choice: the trainee answers the question from the choices. fix: the trainee finds the cause with the tools and fixes it in their own view; done when their phone signs in after a reboot.',
    }),
    question: Type.String({ minLength: 1, description: 'What the trainee is asked (or, to fix, told).' }),
    choices: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'The answers offered (a choice exercise: at least two).',
    }),
    answer: Type.Optional(
      Type.String({ minLength: 1, description: 'The right one of the choices (a choice exercise).' }),
    ),
    tools: Type.Array(Type.Union(TOOLS.map((t) => Type.Literal(t))), {
      default: [],
      uniqueItems: true,
      description:
        'What the trainee may use, on their own phone and view only: dns-lookup, directory-search, journal (what the servers saw of their phone), capture (its packets), dns-edit and dhcp-edit (change a record or an option in their own view: a fix exercise).',
    }),
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
    out.push(...kindChecks(e, at))
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

/** A choice exercise has choices and its answer among them; a fix exercise a story to fix and a tool to fix it. */
function kindChecks(e: Static<typeof ExerciseSchema>, at: string): { pointer: string; message: string }[] {
  if (e.kind === 'choice') {
    if (e.choices.length < 2)
      return [{ pointer: `${at}/choices`, message: 'a choice exercise offers at least two choices' }]
    if (e.answer === undefined || !e.choices.includes(e.answer))
      return [
        {
          pointer: `${at}/answer`,
          message: `"${e.answer ?? ''}" is not one of the choices (${e.choices.join(', ')})`,
        },
      ]
    return []
  }
  const out: { pointer: string; message: string }[] = []
  if (e.choices.length > 0 || e.answer !== undefined)
    out.push({
      pointer: `${at}/choices`,
      message: 'a fix exercise is judged by the phone: no choices or answer',
    })
  if (e.story === undefined)
    out.push({
      pointer: at,
      message: 'a fix exercise needs a story: what the trainee changes in their view is the scenario it runs',
    })
  if (!e.tools.includes('dns-edit') && !e.tools.includes('dhcp-edit'))
    out.push({
      pointer: `${at}/tools`,
      message: 'a fix exercise needs dns-edit or dhcp-edit: something to fix with',
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
