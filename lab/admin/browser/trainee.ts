import { $, apiWith, auth, esc, jsonBody, pageToken, why } from './api.js'
import type { TraineeState } from './wire.js'

/*
 * The trainee's page script: the one phone the trainee works on, the task (question, choices, hints) or the
 * last one's reveal. Every call carries the trainee's own token, from the link the trainer gave them.
 */

const token = pageToken(false)
const api = apiWith(token)
let shownTask = ''

function phoneHtml(s: TraineeState): void {
  $('who').textContent = `${s.name} — phone ${s.device}`
  $('screen').textContent = s.phone.screen
  $('stages').innerHTML = Object.entries(s.phone.stages)
    .map(([k, v]) =>
      v ? `<span class="stage ${v.last}">${esc(k)} ${v.last === 'ok' ? '✓' : '✗'}</span>` : '',
    )
    .join('')
  $('events').innerHTML = s.phone.events
    .map(
      (e) =>
        `<li>${esc(e.time.slice(11, 19))} ${esc(e.stage ?? '')} ${e.ok === false ? '✗ ' : ''}${esc(e.summary)}</li>`,
    )
    .join('')
}

const minutesLeft = (ms: number): string => `${Math.ceil(ms / 60_000)} min left`

function showExercise(task: HTMLElement, x: NonNullable<TraineeState['exercise']>): void {
  const choices = x.choices
    .map(
      (c, i) =>
        `<label><input type="radio" name="choice" value="${esc(c)}"${i === 0 ? ' required' : ''}> ${esc(c)}</label><br>`,
    )
    .join('')
  task.innerHTML =
    `<p><b>${esc(x.question)}</b> <span id="left">${minutesLeft(x.timeLeftMs)}</span></p>` +
    `<form id="answer"><fieldset><legend>Your answer</legend>${choices}</fieldset><button type="submit">Answer</button></form>` +
    `<ul id="hints">${x.hints.map((h) => `<li>${esc(h)}</li>`).join('')}</ul>` +
    (x.hintsLeft > 0 ? `<button type="button" id="hint">Give me a hint (${x.hintsLeft} left)</button>` : '')
  $<HTMLFormElement>('answer').addEventListener('submit', (ev) => {
    ev.preventDefault()
    const choice = new FormData(ev.currentTarget as HTMLFormElement).get('choice')
    void api('/trainee/answer', jsonBody({ choice: typeof choice === 'string' ? choice : '' })).then(refresh)
  })
  document.getElementById('hint')?.addEventListener('click', () => {
    void api('/trainee/hint', { method: 'POST' }).then(refresh)
  })
}

function showReveal(task: HTMLElement, r: NonNullable<TraineeState['reveal']>): void {
  const verdict = r.correct ? 'right">Right' : 'wrong">Not this time'
  task.innerHTML =
    `<h3 id="verdict" class="${verdict}${r.late ? ' (after the time limit)' : ''}</h3>` +
    `<p>${esc(r.title)}. You answered <b>${esc(r.yours ?? '—')}</b>; the cause: <b>${esc(r.answer)}</b>.</p><p id="notes">${esc(r.notes)}</p>` +
    `<h4>What proves it</h4><ol id="proof">${r.proof.map((e) => `<li>${esc(e.time.slice(11, 19))} ${esc(e.server)}: ${esc(e.summary)}</li>`).join('')}</ol>`
}

async function refresh(): Promise<void> {
  const s = await api<TraineeState>('/trainee/state')
  phoneHtml(s)
  const key = JSON.stringify([s.exercise?.question, s.exercise?.hints.length, s.reveal?.title])
  if (key === shownTask) {
    if (s.exercise) $('left').textContent = minutesLeft(s.exercise.timeLeftMs)
    return
  }
  shownTask = key
  const task = $('task')
  if (s.exercise) showExercise(task, s.exercise)
  else if (s.reveal) showReveal(task, s.reveal)
  else task.innerHTML = '<p>Waiting for the trainer.</p>'
}

async function saveReport(): Promise<void> {
  const res = await fetch('/trainee/report', { headers: auth(token) })
  const a = document.createElement('a')
  a.href = URL.createObjectURL(await res.blob())
  a.download = 'training-report.html'
  document.body.append(a)
  a.click()
  a.remove()
}

$('report').addEventListener('click', () => void saveReport())
refresh().catch((e: unknown) => {
  $('task').textContent = `This page needs the link your trainer gave you (${why(e)}).`
})
setInterval(() => refresh().catch(() => undefined), 2000)
