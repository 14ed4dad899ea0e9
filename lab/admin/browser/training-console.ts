import { $, apiWith, esc, jsonBody, pageToken } from './api.js'
import { onSubmit, say } from './forms.js'

/*
 * The trainer's section of the console (shown when the lab runs a class): the trainees with their whole
 * links (copied with one click), what each is doing and has done, the exercises with where each runs (on the
 * trainee's phone alone, or — said before assigning — on the whole lab), a report or the class summary read
 * in the page and printed from it.
 */

const token = pageToken(true)
const api = apiWith(token)

type Scope = { readonly confined: true } | { readonly confined: false; readonly labWide: readonly string[] }

interface Training {
  readonly pack: {
    readonly name: string
    readonly exercises: readonly { id: string; title: string; kind: 'choice' | 'fix'; scope: Scope }[]
  }
  readonly trainees: readonly {
    readonly id: string
    readonly name: string
    readonly device: string
    readonly url: string
    readonly current: { readonly id: string; readonly title: string } | null
    readonly report: readonly { title: string; answer: string | null; correct: boolean }[]
  }[]
}

let exercises: Training['pack']['exercises'] = []

const where = (s: Scope): string =>
  s.confined ? 'on their phone only' : `changes the lab for every phone (${s.labWide.join(', ')})`

function traineeRow(t: Training['trainees'][number]): string {
  const done = t.report.filter((r) => r.answer !== null).map((r) => `${r.correct ? '✓' : '✗'} ${r.title}`)
  const link = new URL(t.url, location.href).href
  return (
    `<tr><td>${esc(t.name)}</td><td>${esc(t.device)}</td><td>${esc(t.current?.title ?? '—')}</td><td>${esc(done.join('; ') || '—')}</td>` +
    `<td><a class="trainee-link" data-trainee="${esc(t.name)}" href="${esc(link)}">${esc(link)}</a> ` +
    `<button type="button" data-copy="${esc(link)}" aria-label="Copy ${esc(t.name)}'s link">Copy</button></td>` +
    `<td><button type="button" data-view="/training/trainees/${esc(t.id)}/report?format=view" data-title="${esc(t.name)}'s report">Read</button> ` +
    `<button type="button" data-download="/training/trainees/${esc(t.id)}/report?format=html">HTML</button></td></tr>`
  )
}

function fillSelects(tr: Training): void {
  const at = $<HTMLSelectElement>('assign-trainee')
  const chosen = at.value
  at.innerHTML = tr.trainees
    .map((t) => `<option value="${esc(t.id)}"${t.id === chosen ? ' selected' : ''}>${esc(t.name)}</option>`)
    .join('')
  exercises = tr.pack.exercises
  const ae = $<HTMLSelectElement>('assign-exercise')
  if (ae.options.length === 0) {
    ae.innerHTML =
      '<option value="">drawn at random</option>' +
      exercises
        .map(
          (e) =>
            `<option value="${esc(e.id)}">${esc(e.title)}${e.kind === 'fix' ? ' (hands-on)' : ''}</option>`,
        )
        .join('')
    showScope()
  }
}

/** Says, before assigning, where the chosen exercise runs. */
function showScope(): void {
  const e = exercises.find((x) => x.id === $<HTMLSelectElement>('assign-exercise').value)
  say('assign-scope', e ? `Runs ${where(e.scope)}.` : 'An exercise drawn from the pack’s seed.')
  $('assign-scope').classList.toggle('alert', e?.scope.confined === false)
}

/** The trainer's section, shown when the lab runs a training session (GET /training answers). */
export async function refreshTraining(): Promise<void> {
  // Outside a class the route is off: the page does not ask for it (no 404 every few seconds).
  if (document.querySelector('main')?.dataset.training !== 'on') return
  let tr: Training
  try {
    tr = await api<Training>('/training')
  } catch {
    return
  }
  const section = $('training')
  // In a class the trainer's section comes first.
  if (section.hidden) {
    $('journal-banner').after(section)
    section.after($('report-view'))
  }
  section.hidden = false
  const hands = tr.pack.exercises.filter((e) => e.kind === 'fix').length
  say('training-pack', `${tr.pack.name} — ${tr.pack.exercises.length} exercises, ${hands} hands-on`)
  $('trainees').innerHTML = tr.trainees.length
    ? '<tr><th>Trainee</th><th>Phone</th><th>Now</th><th>Done</th><th>Their link</th><th>Report</th></tr>' +
      tr.trainees.map(traineeRow).join('')
    : '<tr><td class="muted">No trainee yet: add one, with the MAC of their phone.</td></tr>'
  fillSelects(tr)
}

/** Reads a report or the class summary in the page (the lab's own HTML, in a frame with no scripts). */
async function view(path: string, title: string): Promise<void> {
  const html = await api<string>(path)
  $('report-title').textContent = title
  $<HTMLIFrameElement>('report-frame').srcdoc = html
  $('report-view').hidden = false
  $('report-view').scrollIntoView()
}

/** What the training section's buttons do: copy a link, read a report, print it. */
export async function onTrainingButton(b: HTMLButtonElement): Promise<void> {
  const d = b.dataset
  if (d.copy) {
    await navigator.clipboard.writeText(d.copy).then(
      () => say('training-msg', 'Link copied.'),
      () => say('training-msg', 'Copy it from the table (the browser refused the clipboard).'),
    )
  }
  if (d.view) await view(d.view, d.title ?? 'Report')
  if (b.id === 'class-summary') await view('/training/summary?format=view', 'Class summary')
  if (b.id === 'print-report') $<HTMLIFrameElement>('report-frame').contentWindow?.print()
  if (b.id === 'close-report') $('report-view').hidden = true
}

export function wireTraining(): void {
  $('assign-exercise').addEventListener('change', showScope)
  onSubmit(
    'trainee-form',
    'training-msg',
    async (f, form) => {
      const t = await api<{ name: string; device: string }>(
        '/training/trainees',
        jsonBody({ name: f.name, device: f.device }),
      )
      form.reset()
      return `Added ${t.name} on ${t.device}. Give them their link (Copy, in the table).`
    },
    refreshTraining,
  )
  onSubmit(
    'assign-form',
    'training-msg',
    async () => {
      const id = $<HTMLSelectElement>('assign-trainee').value
      const exercise = $<HTMLSelectElement>('assign-exercise').value
      const r = await api<{ exercise: string; trainee: string; scope: Scope }>(
        `/training/trainees/${encodeURIComponent(id)}/assign`,
        jsonBody(exercise ? { exercise } : {}),
      )
      return `Assigned “${r.exercise}” to ${r.trainee} (${where(r.scope)}).`
    },
    refreshTraining,
  )
}
