import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { stringify } from 'yaml'
import { Lab } from '../lab/runtime.js'
import { checkExpectations, type Divergence } from '../lab/scenario/expect.js'
import { isPlain, loadScenario, mergeScenario, type Plain } from '../lab/scenario/load.js'
import { eachLimited } from '../core/limited.js'
import type { Scenario } from '../lab/scenario/model.js'
import { locate, pointerSegments, readYamlSource } from '../lab/scenario/yaml-source.js'
import type { Logger } from '../core/logger.js'
import { observeOnLab, type Observation } from './observe.js'
import { table } from './args.js'

/**
 * `verify --prove` (issue 35): a story proves its cause when it passes as written, fails without its cause
 * (ending where `cause.without` says, the healthy end by default), and fails with the cause of every other
 * story of the same end state in its place — so its `expect:` tells its cause apart from its neighbours'.
 * Runs with the same lab and phone (the same scenario but for its story) are run once.
 */

/** A story as prove reads it: its own file's document, the scenario it loads to, what it extends. */
interface Story {
  readonly file: string
  readonly doc: Plain
  readonly scenario: Scenario
  readonly base: string
  /** The base as read, merged along its own `extends` (what the story inherits). */
  readonly inherited: Plain
}

/** One run of a proof and its verdict. */
export interface ProofCheck {
  /** `as written`, `without its cause`, or `with the cause of <story>`. */
  readonly run: string
  readonly ok: boolean
  readonly endState: string
  readonly detail: string
}

export interface Proof {
  readonly story: string
  readonly file: string
  readonly proved: boolean
  readonly checks: readonly ProofCheck[]
  /** Why the story could not be proved at all (no cause, a pointer to nothing), as `file:line  message`. */
  readonly problem?: string
}

export interface ProveOptions {
  readonly logger: Logger
  /** Labs run at once (default: the host's cores). */
  readonly parallel?: number
}

/** A run to make: the scenario, and every story whose expect: judges it. */
interface Planned {
  readonly scenario: Scenario
  readonly judges: { readonly story: Story; readonly run: string }[]
}

type Read = Story | { readonly file: string; readonly problem: string } | { readonly base: string }

/** Reads a story's own file (not merged with what it extends); a file that extends nothing is a base. */
function readStory(file: string): Read {
  const path = resolve(file)
  const scenario = loadScenario(path)
  const read = readYamlSource(path, undefined)
  const doc = read.data as Plain
  const base = typeof doc.extends === 'string' ? resolve(dirname(path), doc.extends) : ''
  const pointers = scenario.cause?.is ?? []
  if (base === '') return { base: path }
  if (pointers.length === 0)
    return {
      file: path,
      problem: `${path}:1  declares no cause: (the parts of the file that make the story)`,
    }
  for (const [i, p] of pointers.entries())
    if (valueAt(doc, p) === undefined) {
      const at = locate(read.source ? [read.source] : [], `/cause/is/${i}`)
      return { file: path, problem: `${path}:${at.line}  cause ${p} points at nothing in the file` }
    }
  return { file: path, doc, scenario, base, inherited: readMerged(base) }
}

/** A scenario file's document merged with what it extends, as the loader merges before it validates. */
function readMerged(file: string): Plain {
  const doc = readYamlSource(file, undefined).data as Plain
  return typeof doc.extends === 'string'
    ? (mergeScenario(readMerged(resolve(dirname(file), doc.extends)), doc) as Plain)
    : doc
}

function valueAt(doc: unknown, pointer: string): unknown {
  let at: unknown = doc
  for (const s of pointerSegments(pointer))
    at = isPlain(at) || Array.isArray(at) ? (at as Plain)[s] : undefined
  return at
}

/**
 * Sets (value) or removes (undefined) what a pointer names, making the objects on the way; a list the file
 * does not have (it inherits it) is first copied from `base` (lists replace, objects merge).
 */
function putAt(doc: Plain, pointer: string, value: unknown, base: unknown = undefined): void {
  const segments = pointerSegments(pointer)
  const end = segments.pop()!
  const last = String(end)
  let at = doc
  for (const [i, s] of segments.entries()) {
    const key = String(s)
    if (at[key] === undefined && typeof (segments[i + 1] ?? end) === 'number')
      at[key] = structuredClone(valueAt(base, `/${segments.slice(0, i + 1).join('/')}`))
    if (!isPlain(at[key]) && !Array.isArray(at[key])) at[key] = {}
    at = at[key] as Plain
  }
  if (value !== undefined) at[last] = structuredClone(value)
  else if (Array.isArray(at)) at.splice(Number(last), 1)
  else delete at[last]
}

/**
 * The story's file without its cause, with `other`'s cause in its place when given: written as a file of its
 * own in `dir` (a phase's overlay extends the file the scenario was read from) that extends the story's base.
 */
function variant(story: Story, dir: string, other?: Story): Scenario {
  const doc = structuredClone(story.doc)
  for (const p of story.scenario.cause!.is) putAt(doc, p, undefined)
  for (const p of other?.scenario.cause!.is ?? []) putAt(doc, p, valueAt(other!.doc, p), story.inherited)
  return written(story, dir, doc, other ? `with-cause-of-${other.scenario.name}` : 'without-cause')
}

/** The story as written, its phone making other guesses (the story's end rests on them: `cause.guesses`). */
function guessed(story: Story, dir: string, guess: Readonly<Record<string, unknown>>, i: number): Scenario {
  const doc = structuredClone(story.doc)
  for (const [k, v] of Object.entries(guess)) putAt(doc, `/phone/guesses/${k}`, v)
  return written(story, dir, doc, `guess-${i + 1}`)
}

/** A variant's document as a file of its own beside the others, extending the story's base. */
function written(story: Story, dir: string, doc: Plain, tag: string): Scenario {
  delete doc.cause
  doc.extends = story.base
  const name = `${basename(story.file, '.yaml')}--${tag}.yaml`
  writeFileSync(join(dir, name), stringify(doc))
  return loadScenario(join(dir, name))
}

/** What a run depends on: the scenario but for its story (name, words, expectations, cause). */
function runKey(s: Scenario): string {
  const {
    file: _f,
    files: _fs,
    name: _n,
    description: _d,
    expect: _e,
    cause: _c,
    postedFrom: _p,
    ...rest
  } = s
  return canonical(rest)
}

const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : isPlain(v)
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
          .join(',')}}`
      : JSON.stringify(v)

/**
 * Every run the stories' proofs need, each once; a variant that does not load (a cause that cannot stand in
 * another file) is a failed check at once, with the loader's message.
 */
function plan(stories: readonly Story[], checks: Map<Story, ProofCheck[]>, dir: string): Planned[] {
  const runs = new Map<string, Planned>()
  const add = (make: () => Scenario, story: Story, run: string): void => {
    let scenario: Scenario
    try {
      scenario = make()
    } catch (err) {
      checks
        .get(story)!
        .push({ run, ok: false, endState: '', detail: `does not load: ${(err as Error).message}` })
      return
    }
    const key = runKey(scenario)
    const planned = runs.get(key) ?? { scenario, judges: [] }
    planned.judges.push({ story, run })
    runs.set(key, planned)
  }
  for (const story of stories) {
    add(() => story.scenario, story, 'as written')
    add(() => variant(story, dir), story, 'without its cause')
    for (const other of neighbours(story, stories))
      add(() => variant(story, dir, other), story, `with the cause of ${other.scenario.name}`)
    for (const [i, g] of (story.scenario.cause?.guesses ?? []).entries())
      add(() => guessed(story, dir, g.with, i), story, guessRun(g.with))
  }
  return [...runs.values()]
}

/** The other stories on the same base that end where this one does. */
const neighbours = (story: Story, stories: readonly Story[]): Story[] =>
  stories.filter(
    (o) =>
      o !== story && o.base === story.base && o.scenario.expect.endState === story.scenario.expect.endState,
  )

/** The name of a run with other guesses, e.g. `with the guess kerberos=off`. */
const guessRun = (guess: Readonly<Record<string, unknown>>): string =>
  `with the guess ${Object.entries(guess)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ')}`

/** A run with another guess must end where the story says it then would: its end rests on the guess. */
function judgeGuess(story: Story, run: string, endState: string): ProofCheck {
  const g = story.scenario.cause?.guesses?.find((x) => guessRun(x.with) === run)
  const ends = g?.ends ?? ''
  return endState === ends
    ? { run, endState, ok: true, detail: `ends ${endState}, as the story says: its end rests on the guess` }
    : { run, endState, ok: false, detail: `ends ${endState}, not ${ends} as cause.guesses says` }
}

/** The verdict of one run for one story. */
function judge(story: Story, run: string, seen: Observation): ProofCheck {
  if (run.startsWith('with the guess ')) return judgeGuess(story, run, seen.outcome.endState)
  const d = checkExpectations(story.scenario.expect, seen.outcome, seen.events)
  const endState = seen.outcome.endState
  const first = (x: readonly Divergence[]): string =>
    x[0] ? `${x[0].what}: expected ${x[0].expected}, got ${x[0].got}` : ''
  if (run === 'as written')
    return { run, endState, ok: d.length === 0, detail: d.length === 0 ? 'passes' : `fails: ${first(d)}` }
  if (run === 'without its cause') {
    const without = story.scenario.cause?.without ?? 'signed-in'
    if (d.length === 0)
      return { run, endState, ok: false, detail: 'still passes: the cause is not what makes the story' }
    if (endState !== without)
      return { run, endState, ok: false, detail: `ends ${endState}, not ${without} as cause.without says` }
    return { run, endState, ok: true, detail: `ends ${endState}; ${first(d)}` }
  }
  const other = run.slice('with the cause of '.length)
  if (story.scenario.cause?.alike?.includes(other))
    return d.length === 0
      ? { run, endState, ok: true, detail: 'passes: alike for the phone, as the story says' }
      : {
          run,
          endState,
          ok: false,
          detail: `fails, though the story says the phone sees it alike: ${first(d)}`,
        }
  return d.length === 0
    ? { run, endState, ok: false, detail: 'passes: its expect: does not tell this cause from its own' }
    : { run, endState, ok: true, detail: `fails: ${first(d)}` }
}

/** Proves each story file; bases (files that extend nothing) are left out. */
export async function proveStories(files: readonly string[], options: ProveOptions): Promise<Proof[]> {
  const read = files.map(readStory)
  const stories = read.filter((r): r is Story => 'doc' in r)
  const problems = read.filter((r) => 'problem' in r)
  const checks = new Map<Story, ProofCheck[]>(stories.map((s) => [s, []]))
  const parallel = options.parallel ?? availableParallelism()
  const dirs = Array.from({ length: parallel + 1 }, () => mkdtempSync(join(tmpdir(), 'cx700-prove-')))
  try {
    const runs = plan(stories, checks, dirs[parallel]!)
    await eachLimited(runs, parallel, async (planned, w) => {
      const lab = new Lab({
        scenario: planned.scenario,
        logger: options.logger,
        stateDir: dirs[w]!,
        ports: 'ephemeral',
      })
      await lab.start()
      let seen: Observation
      try {
        seen = await observeOnLab(lab)
      } finally {
        await lab.stop()
      }
      for (const { story, run } of planned.judges) checks.get(story)!.push(judge(story, run, seen))
    })
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
  for (const story of stories) {
    const near = new Set(neighbours(story, stories).map((o) => o.scenario.name))
    for (const name of story.scenario.cause?.alike ?? [])
      if (!near.has(name))
        checks.get(story)!.push({
          run: `alike ${name}`,
          ok: false,
          endState: '',
          detail: `cause.alike names ${name}, which is no story on the same base with the same end state`,
        })
  }
  const order = (c: ProofCheck): number =>
    ['as written', 'without its cause'].indexOf(c.run) + 1 || (c.run.startsWith('with the guess') ? 4 : 3)
  return [
    ...stories.map((s) => {
      const list = checks.get(s)!.sort((a, b) => order(a) - order(b) || a.run.localeCompare(b.run))
      return { story: s.scenario.name, file: s.file, proved: list.every((c) => c.ok), checks: list }
    }),
    ...problems.map((p) => ({
      story: basename(p.file, '.yaml'),
      file: p.file,
      proved: false,
      checks: [],
      problem: p.problem,
    })),
  ]
}

/** The proofs as a table: one row per story, then each failed check on its own line. */
export function proofTable(proofs: readonly Proof[], seconds: number): string {
  const rows = [['STORY', 'RESULT', 'RUNS', 'FIRST FAILED CHECK']]
  for (const p of proofs) {
    const failed = p.checks.find((c) => !c.ok)
    rows.push([
      p.story,
      p.proved ? 'proved' : 'NOT PROVED',
      String(p.checks.length),
      p.problem ?? (failed ? `${failed.run}: ${failed.detail}` : ''),
    ])
  }
  const notProved = proofs.filter((p) => !p.proved).length
  return `${table(rows)}\n${proofs.length - notProved} proved, ${notProved} not proved (${seconds} s)\n`
}
