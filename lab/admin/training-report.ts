import type { FastifyReply } from 'fastify'
import type { ReportLine, Trainee, TrainingSession } from '../training/session.js'
import { esc } from './html.js'

const seconds = (ms: number | null): string => (ms === null ? '—' : `${Math.round(ms / 1000)} s`)

/** A self-contained page: readable in the browser, printable (nothing on it but the report). */
const page = (title: string, body: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left;vertical-align:top}
ol{margin:0;padding-left:1.2rem}.right{color:#1a7f37}.wrong{color:#cf222e}@page{margin:1.5cm}</style></head><body>${body}</body></html>`

const result = (r: ReportLine): string =>
  r.answer === null
    ? 'not answered'
    : `<span class="${r.correct ? 'right">right' : 'wrong">wrong'}</span>${r.late ? ' (late)' : ''}`

/** What the trainee did, in order, with the time since the exercise began. */
const actions = (r: ReportLine): string =>
  r.actions.length === 0
    ? '—'
    : `<ol>${r.actions.map((a) => `<li>${seconds(a.afterMs)}: ${esc(a.tool)} — ${esc(a.what)}</li>`).join('')}</ol>`

/** A trainee's report: each exercise, the answer, the time, the hints and what they looked at and changed. */
export function reportHtml(session: TrainingSession, t: Trainee): string {
  const rows = session
    .report(t)
    .map(
      (r) =>
        `<tr><td>${esc(r.title)}</td><td>${esc(r.answer ?? '—')}</td><td>${result(r)}</td>` +
        `<td>${seconds(r.timeToAnswerMs)}</td><td>${r.hintsUsed}</td><td>${actions(r)}</td></tr>`,
    )
    .join('')
  return page(
    `${t.name} — ${session.pack.name}`,
    `<h1>${esc(session.pack.name)}: ${esc(t.name)}</h1><p>Phone ${esc(t.device)}</p>` +
      `<table><tr><th>Exercise</th><th>Answer</th><th>Result</th><th>Time to answer</th><th>Hints used</th><th>What they did</th></tr>${rows}</table>`,
  )
}

/** One trainee's line of the class summary. */
export interface SummaryLine {
  readonly name: string
  readonly device: string
  readonly given: number
  readonly answered: number
  readonly right: number
  readonly hints: number
  /** Time to answer, summed over the answered exercises. */
  readonly timeMs: number
  readonly exercises: readonly ReportLine[]
}

/** The class at a glance: who answered what, right or wrong, how long it took, how many hints. */
export function classSummary(session: TrainingSession): { pack: string; trainees: SummaryLine[] } {
  const trainees = session.trainees().map((t) => {
    const lines = session.report(t)
    const answered = lines.filter((l) => l.answer !== null)
    return {
      name: t.name,
      device: t.device,
      given: lines.length,
      answered: answered.length,
      right: lines.filter((l) => l.correct).length,
      hints: lines.reduce((n, l) => n + l.hintsUsed, 0),
      timeMs: answered.reduce((n, l) => n + (l.timeToAnswerMs ?? 0), 0),
      exercises: lines,
    }
  })
  return { pack: session.pack.name, trainees }
}

export function summaryHtml(session: TrainingSession): string {
  const { pack, trainees } = classSummary(session)
  const rows = trainees
    .map(
      (t) =>
        `<tr><td>${esc(t.name)}</td><td>${t.right} of ${t.given}${t.answered < t.given ? ` (${t.given - t.answered} open)` : ''}</td>` +
        `<td>${seconds(t.timeMs)}</td><td>${t.hints}</td><td><ol>${t.exercises.map((l) => `<li>${esc(l.title)}: ${result(l)}</li>`).join('')}</ol></td></tr>`,
    )
    .join('')
  return page(
    `${pack} — class summary`,
    `<h1>${esc(pack)}: class summary</h1>` +
      `<table><tr><th>Trainee</th><th>Right</th><th>Time to answer</th><th>Hints</th><th>Exercises</th></tr>${rows}</table>`,
  )
}

/** A page as HTML: shown in the browser (`view`), or a download for the trainer's files. */
function sendHtml(reply: FastifyReply, html: string, name: string, format: string): FastifyReply {
  const r = reply.type('text/html; charset=utf-8')
  if (format === 'html') r.header('content-disposition', `attachment; filename="${name}.html"`)
  return r.send(html)
}

/** A trainee's report: JSON, HTML shown in the browser (format=view), or an HTML download (format=html). */
export function sendReport(
  reply: FastifyReply,
  session: TrainingSession,
  t: Trainee,
  format: string | undefined,
): FastifyReply {
  if (format === 'html' || format === 'view')
    return sendHtml(
      reply,
      reportHtml(session, t),
      `training-${t.name.replace(/[^a-zA-Z0-9.-]+/g, '_')}`,
      format,
    )
  return reply.send({
    pack: session.pack.name,
    trainee: t.name,
    device: t.device,
    exercises: session.report(t),
  })
}

/** The class summary: JSON, shown (format=view) or downloaded (format=html). */
export function sendSummary(
  reply: FastifyReply,
  session: TrainingSession,
  format: string | undefined,
): FastifyReply {
  if (format === 'html' || format === 'view')
    return sendHtml(reply, summaryHtml(session), 'training-class', format)
  return reply.send(classSummary(session))
}
