import type { FastifyReply } from 'fastify'
import type { JournalEvent } from '../../core/journal/journal.js'
import type { Lab } from '../runtime.js'
import type { Attempt, ReportLine, Trainee, TrainingSession } from '../training/session.js'
import { buildTimelines, type DeviceTimeline } from './timeline.js'

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/**
 * Whether an event shows a fault the lab applied: the fault engine's own events, and every event a server
 * marked with the fault it carried out (`detail.fault`, on every server) — read from kinds and fields, never
 * from a summary's words.
 */
export function showsFault(e: {
  readonly kind: string
  readonly detail: Readonly<Record<string, unknown>>
}): boolean {
  return e.kind.startsWith('fault:') || e.detail.fault !== undefined
}

/** What a trainee may read of an event: its time, stage, outcome and summary, never its detail. */
const forTrainee = (e: { time: string; stage?: string; ok?: boolean; summary: string }) => ({
  time: e.time,
  ...(e.stage !== undefined ? { stage: e.stage } : {}),
  ...(e.ok !== undefined ? { ok: e.ok } : {}),
  summary: e.summary,
})

/** The events of the trainee's phone they may read: none that shows a fault (the trainee is to find it). */
export function traineeEvents<E extends { kind: string; detail: Readonly<Record<string, unknown>> }>(
  events: readonly E[],
): E[] {
  return events.filter((e) => !showsFault(e))
}

/**
 * The one phone a trainee works on, as the trainee may see it: its screen and what the servers saw; the
 * per-stage verdicts (and each event's ✓/✗) only when the exercise allows them (`showStages`), since they all
 * but name the cause.
 */
function traineeLane(t: Trainee, timelines: readonly DeviceTimeline[], verdicts: boolean): object {
  const lane = timelines.find((d) => d.macs.includes(t.device))
  if (!lane) return { screen: 'The phone has not talked to the lab yet.', stages: {}, events: [] }
  const events = traineeEvents(lane.events).slice(-60).map(forTrainee)
  return {
    screen: lane.screen,
    stages: verdicts ? lane.stages : {},
    events: verdicts ? events : events.map(({ ok: _ok, ...e }) => e),
  }
}

function reveal(session: TrainingSession, t: Trainee, a: Attempt, events: readonly JournalEvent[]): object {
  return {
    title: a.exercise.title,
    yours: a.answer ?? null,
    answer: a.exercise.answer,
    correct: a.correct === true,
    late: a.late === true,
    notes: a.exercise.notes,
    proof: session.proof(t, a, events).map((e) => ({ ...forTrainee(e), server: e.server })),
  }
}

/** What the trainee's page shows: the phone, the exercise in progress or the last one's reveal. */
export function traineeState(session: TrainingSession, t: Trainee, lab: Lab, now = Date.now()): object {
  const events = lab.journal.query({}, 100_000)
  const current = session.current(t)
  const last = t.attempts.at(-1)
  return {
    name: t.name,
    device: t.device,
    phone: traineeLane(t, buildTimelines(events, lab.clock.now()), current?.exercise.showStages === true),
    ...(current
      ? {
          exercise: {
            question: current.exercise.question,
            choices: current.exercise.choices,
            hints: current.exercise.hints.slice(0, current.hintsShown),
            hintsLeft: current.exercise.hints.length - current.hintsShown,
            timeLeftMs: Math.max(0, session.timeLimitMs(current) - (now - current.assignedAt)),
          },
        }
      : {}),
    ...(!current && last ? { reveal: reveal(session, t, last, events) } : {}),
  }
}

/** A trainee's report: self-contained HTML (for the trainer's files) or the same lines as JSON. */
export function reportHtml(session: TrainingSession, t: Trainee): string {
  const rows = session
    .report(t)
    .map(
      (r: ReportLine) =>
        `<tr><td>${esc(r.title)}</td><td>${esc(r.answer ?? '—')}</td><td>${r.correct ? 'right' : 'wrong'}${r.late ? ' (late)' : ''}</td>` +
        `<td>${r.timeToAnswerMs === null ? '—' : `${Math.round(r.timeToAnswerMs / 1000)} s`}</td><td>${r.hintsUsed}</td></tr>`,
    )
    .join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(t.name)} — ${esc(session.pack.name)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}</style></head>
<body><h1>${esc(session.pack.name)}: ${esc(t.name)}</h1><p>Phone ${esc(t.device)}</p>
<table><tr><th>Exercise</th><th>Answer</th><th>Result</th><th>Time to answer</th><th>Hints used</th></tr>${rows}</table></body></html>`
}

/** The page a trainee opens (its link carries the trainee's token after #): no data until the token is shown. */
export function traineePage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Your phone</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem;max-width:60rem}.stages{display:flex;gap:.3rem;flex-wrap:wrap}
.stage{border:2px solid #888;border-radius:4px;padding:.2rem .5rem}.ok{border-color:#1a7f37}.failed{border-color:#cf222e;font-weight:700}
button:focus-visible,input:focus-visible{outline:3px solid Highlight}.right{color:#1a7f37}.wrong{color:#cf222e}</style></head>
<body><main>
<h1 id="who">Your phone</h1>
<section aria-labelledby="h-phone"><h2 id="h-phone">The phone</h2><p>Screen: <b id="screen">…</b></p><div class="stages" id="stages"></div>
<details><summary>What the servers saw</summary><ol id="events"></ol></details></section>
<section aria-labelledby="h-task"><h2 id="h-task">Your task</h2><div id="task" aria-live="polite"><p>Waiting for the trainer.</p></div></section>
<p><button type="button" id="report">Download my report</button></p>
</main>
<script type="module" src="/assets/trainee.js"></script></body></html>`
}

/** A trainee's report, as JSON or as an HTML download (format=html). */
export function sendReport(
  reply: FastifyReply,
  session: TrainingSession,
  t: Trainee,
  format: string | undefined,
): FastifyReply {
  const name = `training-${t.name.replace(/[^a-zA-Z0-9.-]+/g, '_')}`
  if (format === 'html')
    return reply
      .type('text/html; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}.html"`)
      .send(reportHtml(session, t))
  return reply.send({
    pack: session.pack.name,
    trainee: t.name,
    device: t.device,
    exercises: session.report(t),
  })
}
