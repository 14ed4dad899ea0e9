import { randomBytes, timingSafeEqual } from 'node:crypto'
import { LabError } from '../../core/errors.js'
import type { FaultEngine } from '../../core/faults/engine.js'
import { normalizeMac } from '../../core/journal/devices.js'
import { eventInput } from '../../core/journal/events.js'
import type { Journal, JournalEvent } from '../../core/journal/journal.js'
import { seededRandom, type Random } from '../../core/random.js'
import { parseDuration } from '../../core/schema/common.js'
import { matches } from '../scenario/expect.js'
import { dirname } from 'node:path'
import type { DevicePlan } from '../device-views.js'
import { checkEdit, describeEdit, type TraineeEdit } from './edits.js'
import { storyFile, type Exercise, type ExercisePack, type Tool } from './pack.js'
import type { Action, AttemptSnapshot, SessionSnapshot, SessionStore } from './store.js'

/** How a session runs an exercise's story (`trainingOnLab` binds it to the lab's device views and reload). */
export interface StoryRunner {
  /** What the story would change on one phone; `labWide` is empty when it can stay on that phone. */
  plan(file: string): DevicePlan
  /** Gives the phone the story's scenario with a trainee's changes made, or (undefined) the lab's back. */
  confine(mac: string, file: string | undefined, edits?: readonly TraineeEdit[]): void
  /** Runs the story for every phone, or (undefined) the scenario the session began on. */
  labWide(file: string | undefined): Promise<void>
}

/** Where an exercise's story runs: on the trainee's phone alone, or (what it changes) on the whole lab. */
export type StoryScope =
  { readonly confined: true } | { readonly confined: false; readonly labWide: readonly string[] }

/** What the phone shows at its last boot after a point in the journal (a fix exercise is judged by it). */
export interface PhoneVerdict {
  /** Whether the phone booted (a DHCPDISCOVER) after that point. */
  readonly booted: boolean
  readonly signedIn: boolean
  /** Its status line, as the screen inference reads it. */
  readonly screen: string
}

/** One exercise given to a trainee: when, the hints taken, the faults on the phone, and the answer. */
export interface Attempt {
  readonly exercise: Exercise
  /** Wall time (ms): a class runs on people's time, whatever the lab clock does. */
  readonly assignedAt: number
  /** The journal's last event when it began: what the phone does from here belongs to it. */
  readonly fromSeq: number
  readonly faultIds: readonly string[]
  hintsShown: number
  /** What the trainee looked at and changed, in order: the report lists it. */
  readonly actions: Action[]
  /** Their changes to their own view (a fix exercise), in order. */
  readonly edits: TraineeEdit[]
  /** The journal's last event at their last change: a boot after it judges the fix. */
  editSeq: number
  answer?: string
  answeredAt?: number
  correct?: boolean
  /** Answered after the time limit, or never answered before the next exercise. */
  late?: boolean
}

export interface Trainee {
  readonly id: string
  readonly name: string
  /** The phone the trainee works on (its MAC, normalised). */
  readonly device: string
  readonly token: string
  readonly attempts: Attempt[]
}

/** One line of a trainee's report. */
export interface ReportLine {
  readonly exercise: string
  readonly title: string
  readonly answer: string | null
  readonly correct: boolean
  readonly timeToAnswerMs: number | null
  readonly hintsUsed: number
  readonly late: boolean
  /** What they looked at and changed, each with the time since the exercise began. */
  readonly actions: readonly { readonly afterMs: number; readonly tool: string; readonly what: string }[]
}

/** The training session's journal events (server `training`): what each trainee was given and did. */
export interface TrainingEvents {
  readonly 'training:trainee': { readonly trainee: string; readonly mac: string }
  readonly 'training:assigned': {
    readonly trainee: string
    readonly exercise: string
    readonly faults: readonly string[]
  }
  readonly 'training:hint': { readonly trainee: string; readonly exercise: string; readonly hint: number }
  readonly 'training:answered': {
    readonly trainee: string
    readonly exercise: string
    readonly correct: boolean | undefined
    readonly late: boolean
    readonly hints: number
  }
  readonly 'training:restored': {
    readonly trainees: number
    readonly running: number
    readonly story?: string
  }
  /** A trainee used a tool: looked something up, changed their view, checked their fix. */
  readonly 'training:tool': {
    readonly trainee: string
    readonly exercise: string
    readonly tool: string
    readonly what: string
  }
  /** The session could not be kept in the state folder (a full disk): it goes on in memory. */
  readonly 'training:not-saved': { readonly error: string }
}

/**
 * A training session (issue 21): a pack of exercises, trainees each on a phone of their own, exercises
 * assigned (chosen or drawn from the pack's seed) as fault rules scoped to the trainee's phone — so two
 * trainees on one lab meet different faults — hints, answers, the reveal and a report. Every step is in the
 * journal under the `training` server (never with the trainee's device, so nothing of it reaches their view).
 */
export class TrainingSession {
  readonly pack: ExercisePack
  readonly #faults: FaultEngine
  readonly #journal: Journal
  readonly #now: () => number
  readonly #random: Random
  readonly #trainees = new Map<string, Trainee>()
  readonly #stories: StoryRunner | undefined
  /** The story the lab runs for every phone for exercises in progress (one that cannot be confined), and whose. */
  #story: { readonly name: string; readonly trainees: Set<string> } | undefined
  #next = 1
  readonly #store: SessionStore | undefined
  readonly #judge: ((mac: string, afterSeq: number) => PhoneVerdict) | undefined

  constructor(
    pack: ExercisePack,
    deps: {
      readonly faults: FaultEngine
      readonly journal: Journal
      readonly now?: () => number
      /** Runs exercises' stories: on the trainee's phone alone where they can be, else on the lab. */
      readonly stories?: StoryRunner
      /** Where the session is kept as it changes, to be as it was after a restart (`restore`). */
      readonly store?: SessionStore
      /** What a phone showed at its last boot after a journal sequence number (judges fix exercises). */
      readonly judge?: (mac: string, afterSeq: number) => PhoneVerdict
    },
  ) {
    this.#store = deps.store
    this.pack = pack
    this.#stories = deps.stories
    this.#judge = deps.judge
    this.#faults = deps.faults
    this.#journal = deps.journal
    this.#now = deps.now ?? Date.now
    this.#random = seededRandom(pack.seed)
  }

  trainees(): readonly Trainee[] {
    return [...this.#trainees.values()]
  }

  trainee(id: string): Trainee {
    const t = this.#trainees.get(id)
    if (!t) throw new LabError('LAB_ERR_TRAINING', `No trainee ${id}: GET /training lists them.`)
    return t
  }

  /** The trainee a token belongs to (compared in constant time), or undefined. */
  byToken(token: string): Trainee | undefined {
    const given = Buffer.from(token)
    for (const t of this.#trainees.values()) {
      const own = Buffer.from(t.token)
      if (own.length === given.length && timingSafeEqual(own, given)) return t
    }
    return undefined
  }

  addTrainee(name: string, device: string): Trainee {
    const mac = normalizeMac(device)
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac))
      throw new LabError(
        'LAB_ERR_TRAINING',
        `"${device}" is not a MAC address (00:04:f2:…): a trainee works on one phone.`,
      )
    const taken = this.trainees().find((t) => t.device === mac)
    if (taken) throw new LabError('LAB_ERR_TRAINING', `${mac} is already ${taken.name}'s phone.`)
    const trainee: Trainee = {
      id: `t${this.#next++}`,
      name: name.trim() || mac,
      device: mac,
      token: randomBytes(18).toString('base64url'),
      attempts: [],
    }
    this.#trainees.set(trainee.id, trainee)
    this.#record('training:trainee', `trainee ${trainee.id} (${trainee.name}) on ${mac}`, {
      trainee: trainee.id,
      mac,
    })
    this.#save()
    return trainee
  }

  /** The exercise in progress (assigned, not answered), if any. */
  current(t: Trainee): Attempt | undefined {
    const last = t.attempts.at(-1)
    return last && last.answer === undefined && last.late !== true ? last : undefined
  }

  /**
   * Gives a trainee an exercise — the one named, or one drawn from the pack's seed among those the trainee
   * has not had yet — and puts its faults on the trainee's phone alone. An exercise still running ends first.
   */
  async assign(traineeId: string, exerciseId?: string): Promise<Attempt> {
    const t = this.trainee(traineeId)
    const exercise =
      exerciseId === undefined ? this.#draw(t) : this.pack.exercises.find((e) => e.id === exerciseId)
    if (!exercise)
      throw new LabError(
        'LAB_ERR_TRAINING',
        `No exercise ${exerciseId ?? ''} in ${this.pack.name} (${this.pack.exercises.map((e) => e.id).join(', ')}).`,
      )
    this.#checkConflicts(t, exercise)
    const running = this.current(t)
    if (running) {
      running.late = true
      await this.#end(t, running)
    }
    if (exercise.story !== undefined) await this.#startStory(t, exercise.story)
    const faultIds = this.#putFaults(t, exercise, t.attempts.length + 1)
    const fromSeq = this.#lastSeq()
    const attempt: Attempt = {
      exercise,
      assignedAt: this.#now(),
      fromSeq,
      faultIds,
      hintsShown: 0,
      actions: [],
      edits: [],
      editSeq: fromSeq,
    }
    t.attempts.push(attempt)
    this.#record('training:assigned', `exercise ${exercise.id} given to ${t.id} (${t.name})`, {
      trainee: t.id,
      exercise: exercise.id,
      faults: faultIds,
    })
    this.#save()
    return attempt
  }

  /** An exercise's fault rules on the trainee's phone alone; their ids. */
  #putFaults(t: Trainee, exercise: Exercise, attempt: number): string[] {
    return exercise.faults.map((rule, i) => {
      const id = `train-${t.id}-${attempt}-${i + 1}`
      this.#faults.add({ ...rule, id, match: { ...rule.match, device: t.device } })
      return id
    })
  }

  #draw(t: Trainee): Exercise {
    const had = new Set(t.attempts.map((a) => a.exercise.id))
    const fresh = this.pack.exercises.filter((e) => !had.has(e.id))
    const from = fresh.length > 0 ? fresh : this.pack.exercises
    return from[Math.floor(this.#random() * from.length)]!
  }

  /** The next hint of the trainee's exercise (counted), or undefined when none is left. */
  hint(t: Trainee): string | undefined {
    const a = this.current(t)
    const hint = a?.exercise.hints[a.hintsShown]
    if (!a || hint === undefined) return undefined
    a.hintsShown++
    this.#record('training:hint', `${t.id} took hint ${a.hintsShown} of ${a.exercise.id}`, {
      trainee: t.id,
      exercise: a.exercise.id,
      hint: a.hintsShown,
    })
    this.#save()
    return hint
  }

  /**
   * Where an exercise's story would run: on the trainee's phone alone, or on the whole lab (what it changes
   * there: the console shows it before assigning). An exercise without a story is always confined.
   */
  scope(exercise: Exercise): StoryScope {
    if (exercise.story === undefined) return { confined: true }
    if (!this.#stories) return { confined: false, labWide: ['this session runs no stories'] }
    const { labWide } = this.#stories.plan(this.#file(exercise.story))
    return labWide.length === 0 ? { confined: true } : { confined: false, labWide }
  }

  #file(story: string): string {
    return storyFile(story, dirname(this.pack.file))
  }

  /**
   * A story that cannot be confined changes the lab for every phone: it is refused while another trainee has
   * an exercise running (but the same story), and while it runs no other trainee gets an exercise but the same.
   */
  #checkConflicts(t: Trainee, exercise: Exercise): void {
    const scope = this.scope(exercise)
    const others = this.trainees().filter((o) => o.id !== t.id && this.current(o))
    const same = (o: Trainee): boolean =>
      !scope.confined && this.current(o)?.exercise.story === exercise.story
    if (!scope.confined) {
      const busy = others.filter((o) => !same(o))
      if (busy.length > 0)
        throw new LabError(
          'LAB_ERR_TRAINING',
          `${exercise.id} changes ${scope.labWide.join(', ')} for every phone, and ${names(busy)} ${busy.length > 1 ? 'have exercises' : 'has an exercise'} running: wait for their answers, or give an exercise that stays on one phone.`,
        )
    }
    const wide = this.#story
    if (wide && !(wide.name === exercise.story && !scope.confined)) {
      const whose = [...wide.trainees].filter((id) => id !== t.id).map((id) => this.trainee(id))
      if (whose.length > 0)
        throw new LabError(
          'LAB_ERR_TRAINING',
          `The lab runs ${wide.name} for every phone for ${names(whose)}'s exercise: wait for their answer, or give the same exercise.`,
        )
    }
  }

  /** A story on the trainee's phone alone where it can be; else on the lab, while any exercise of it runs. */
  async #startStory(t: Trainee, story: string): Promise<void> {
    if (!this.#stories) throw new LabError('LAB_ERR_TRAINING', 'This session cannot run stories.')
    const file = this.#file(story)
    if (this.#stories.plan(file).labWide.length === 0) return this.#stories.confine(t.device, file)
    if (!this.#story) {
      await this.#stories.labWide(file)
      this.#story = { name: story, trainees: new Set() }
    }
    this.#story.trainees.add(t.id)
  }

  /** An exercise ends: its faults and story off the phone, the lab back to its scenario when no story needs it. */
  async #end(t: Trainee, a: Attempt): Promise<void> {
    this.#clearFaults(a)
    if (a.exercise.story === undefined) return
    if (!this.#story?.trainees.has(t.id)) return this.#stories?.confine(t.device, undefined)
    this.#story.trainees.delete(t.id)
    if (this.#story.trainees.size > 0) return
    this.#story = undefined
    await this.#stories?.labWide(undefined)
  }

  #lastSeq(): number {
    return this.#journal.query({}, 1)[0]?.seq ?? 0
  }

  /** The exercise in progress, if it hands the trainee `tool`; else LAB_ERR_TRAINING saying so. */
  #withTool(t: Trainee, tool: Tool): Attempt {
    const a = this.current(t)
    if (!a) throw new LabError('LAB_ERR_TRAINING', 'No exercise is running for you: ask the trainer for one.')
    if (!a.exercise.tools.includes(tool))
      throw new LabError('LAB_ERR_TRAINING', `This exercise does not give you ${tool}.`)
    return a
  }

  #act(t: Trainee, a: Attempt, tool: Action['tool'], what: string): void {
    // Bounded: a page (or a script) that keeps asking cannot grow a session without end.
    if (a.actions.length >= MAX_ACTIONS) return
    a.actions.push({ at: this.#now(), tool, what })
    this.#record('training:tool', `${t.id} ${tool}: ${what}`, {
      trainee: t.id,
      exercise: a.exercise.id,
      tool,
      what,
    })
    this.#save()
  }

  /**
   * A tool the trainee used to look (a lookup, a search, the journal, a capture): recorded for the report.
   * Throws LAB_ERR_TRAINING when the exercise does not hand it out.
   */
  use(t: Trainee, tool: Tool, what: string): void {
    const a = this.#withTool(t, tool)
    const last = a.actions.at(-1)
    // A page that refreshes what is open (the journal) asks again: one look until they do something else.
    if (last?.tool === tool && last.what === what) return
    this.#act(t, a, tool, what)
  }

  /**
   * A change in the trainee's own view (a DNS record, a DHCP option): made on their phone alone, recorded;
   * the phone meets it at its next boot. Throws LAB_ERR_TRAINING when the change is wrong or not theirs to make.
   */
  edit(t: Trainee, input: unknown): TraineeEdit {
    const edit = checkEdit(input)
    const a = this.#withTool(t, edit.tool)
    if (a.edits.length >= MAX_EDITS)
      throw new LabError('LAB_ERR_TRAINING', `That is ${MAX_EDITS} changes already: ask the trainer to look.`)
    const story = a.exercise.story
    if (story === undefined || this.#story?.trainees.has(t.id) || !this.#stories)
      throw new LabError(
        'LAB_ERR_TRAINING',
        'Your changes can only go to a view of your own, and this exercise has none.',
      )
    this.#stories.confine(t.device, this.#file(story), [...a.edits, edit])
    a.edits.push(edit)
    a.editSeq = this.#lastSeq()
    this.#act(t, a, edit.tool, describeEdit(edit))
    return edit
  }

  /**
   * Judges a fix exercise by the phone: fixed when it booted after the trainee's last change and signed in.
   * Fixed, the exercise ends (the reveal opens); not yet, the check is recorded with what the phone shows.
   */
  async check(t: Trainee): Promise<PhoneVerdict & { readonly fixed: boolean }> {
    const a = this.current(t)
    if (!a || a.exercise.kind !== 'fix')
      throw new LabError('LAB_ERR_TRAINING', 'No exercise to fix is running for you.')
    if (!this.#judge) throw new LabError('LAB_ERR_TRAINING', 'This session cannot see the phones.')
    const verdict = this.#judge(t.device, a.editSeq)
    const fixed = verdict.booted && verdict.signedIn
    const seen = verdict.booted ? verdict.screen : 'no boot since the last change'
    this.#act(t, a, 'check', fixed ? 'signed in after the change: fixed' : `not yet: ${seen}`)
    if (fixed) await this.#close(t, a, 'fixed')
    return { ...verdict, fixed }
  }

  /** The trainee's answer: recorded, the faults taken off the phone (the story ended), the reveal opened. */
  async answer(t: Trainee, choice: string): Promise<Attempt> {
    const a = this.current(t)
    if (!a) throw new LabError('LAB_ERR_TRAINING', 'No exercise is running for you: ask the trainer for one.')
    if (a.exercise.kind === 'fix')
      throw new LabError(
        'LAB_ERR_TRAINING',
        'Your phone judges this one: fix the cause, reboot the phone, then check.',
      )
    if (!a.exercise.choices.includes(choice))
      throw new LabError('LAB_ERR_TRAINING', `"${choice}" is not one of the choices.`)
    await this.#close(t, a, choice)
    return a
  }

  /** An exercise answered (a choice, or `fixed`): recorded, its faults and story off the phone. */
  async #close(t: Trainee, a: Attempt, answer: string): Promise<void> {
    a.answer = answer
    a.answeredAt = this.#now()
    a.correct = a.exercise.kind === 'fix' ? answer === 'fixed' : answer === a.exercise.answer
    if (a.answeredAt - a.assignedAt > this.timeLimitMs(a)) a.late = true
    await this.#end(t, a)
    this.#record('training:answered', `${t.id} answered ${a.exercise.id}: ${a.correct ? 'right' : 'wrong'}`, {
      trainee: t.id,
      exercise: a.exercise.id,
      correct: a.correct,
      late: a.late === true,
      hints: a.hintsShown,
    })
    this.#save()
  }

  timeLimitMs(a: Attempt): number {
    return parseDuration(a.exercise.timeLimit)
  }

  /** Journal events of the trainee's phone since the exercise began that prove its cause (the reveal). */
  proof(t: Trainee, a: Attempt, events: readonly JournalEvent[]): JournalEvent[] {
    const mine = events.filter((e) => e.seq > a.fromSeq && e.device?.mac === t.device)
    return mine.filter((e) => a.exercise.proof.some((m) => matches(e, m))).slice(0, 20)
  }

  report(t: Trainee): ReportLine[] {
    return t.attempts.map((a) => ({
      exercise: a.exercise.id,
      title: a.exercise.title,
      answer: a.answer ?? null,
      correct: a.correct === true,
      timeToAnswerMs: a.answeredAt !== undefined ? a.answeredAt - a.assignedAt : null,
      hintsUsed: a.hintsShown,
      late: a.late === true,
      actions: a.actions.map((x) => ({ afterMs: x.at - a.assignedAt, tool: x.tool, what: x.what })),
    }))
  }

  #clearFaults(a: Attempt): void {
    for (const id of a.faultIds) {
      try {
        this.#faults.remove(id)
      } catch {
        // Already gone (the trainer cleared the faults): nothing to take off.
      }
    }
  }

  #snapshot(): SessionSnapshot {
    const attempt = ({ exercise, ...rest }: Attempt): AttemptSnapshot => ({ exercise: exercise.id, ...rest })
    return {
      version: 1,
      pack: this.pack.file,
      next: this.#next,
      trainees: this.trainees().map((t) => ({ ...t, attempts: t.attempts.map(attempt) })),
      ...(this.#story ? { story: { name: this.#story.name, trainees: [...this.#story.trainees] } } : {}),
    }
  }

  #save(): void {
    try {
      this.#store?.save(this.#snapshot())
    } catch (err) {
      this.#record(
        'training:not-saved',
        `the training session could not be kept: ${(err as Error).message}`,
        {
          error: (err as Error).message,
        },
      )
    }
  }

  /**
   * The class as it was when the lab stopped (or was killed): the trainees with their phones and links, every
   * attempt, the exercises in progress with their faults back on the phones and their story running again.
   * A session kept for another pack is left as it is.
   */
  async restore(): Promise<void> {
    const kept = this.#store?.load()
    if (!kept || kept.pack !== this.pack.file || this.#trainees.size > 0) return
    const byId = new Map(this.pack.exercises.map((e) => [e.id, e]))
    for (const k of kept.trainees) {
      const attempts = k.attempts.flatMap(({ exercise, ...rest }) => {
        const e = byId.get(exercise)
        if (!e) return []
        const actions = [...(rest.actions ?? [])]
        const edits = [...(rest.edits ?? [])]
        return [
          {
            ...rest,
            exercise: e,
            faultIds: [...rest.faultIds],
            actions,
            edits,
            editSeq: rest.editSeq ?? rest.fromSeq,
          },
        ]
      })
      const t: Trainee = { id: k.id, name: k.name, device: k.device, token: k.token, attempts }
      this.#trainees.set(t.id, t)
      const running = this.current(t)
      if (running) this.#putFaults(t, running.exercise, attempts.length)
      const story = running?.exercise.story
      if (story !== undefined && !kept.story?.trainees.includes(t.id))
        this.#stories?.confine(t.device, this.#file(story), running?.edits)
    }
    this.#next = kept.next
    if (kept.story && this.#stories) {
      await this.#stories.labWide(this.#file(kept.story.name))
      this.#story = { name: kept.story.name, trainees: new Set(kept.story.trainees) }
    }
    const running = this.trainees().filter((t) => this.current(t)).length
    this.#record(
      'training:restored',
      `training session restored: ${this.#trainees.size} trainee(s), ${running} exercise(s) in progress`,
      {
        trainees: this.#trainees.size,
        running,
        ...(kept.story ? { story: kept.story.name } : {}),
      },
    )
  }

  #record<K extends keyof TrainingEvents>(kind: K, summary: string, detail: TrainingEvents[K]): void {
    this.#journal.record(eventInput('training', kind, { summary, detail }))
  }
}

/** What one attempt keeps at most: the trainee's looks and checks, and their changes to their view. */
const MAX_ACTIONS = 500
const MAX_EDITS = 50

const names = (trainees: readonly Trainee[]): string => trainees.map((t) => t.name).join(', ')
