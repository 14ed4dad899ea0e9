import { $, apiWith, download, esc, jsonBody, pageToken, why } from './api.js'
import { TRAINEE_TOOLS, type TraineeEvent, type TraineeState, type TraineeTool } from './wire.js'

/*
 * The trainee's page script: the one phone the trainee works on (its screen as its user sees it), the task
 * (a question with choices, or a fault to fix), the tools the exercise hands out, or the last one's reveal.
 * Every call carries the trainee's own token, from the link the trainer gave them.
 */

const token = pageToken(false)
const api = apiWith(token)
let shownTask = ''
let shownQuestion: string | undefined

/** The status line on the drawn screen, in two lines where it is long (as the phone wraps it). */
function drawScreen(line: string): void {
  const words = line.split(' ')
  let first = ''
  while (words.length > 0 && `${first} ${words[0]}`.trim().length <= 24)
    first = `${first} ${words.shift()}`.trim()
  $('screen').textContent = first || line
  $('screen-2').textContent = words.join(' ')
  $('phone-title').textContent = `The phone's screen: ${line}`
}

function phoneHtml(s: TraineeState): void {
  $('who').textContent = `${s.name} — phone ${s.device}`
  drawScreen(s.phone.talked ? s.phone.screen : 'Starting')
  $('stages').innerHTML = Object.entries(s.phone.stages)
    .map(([k, v]) =>
      v ? `<span class="stage ${v.last}">${esc(k)} ${v.last === 'ok' ? '✓' : '✗'}</span>` : '',
    )
    .join('')
}

const minutesLeft = (ms: number): string => `${Math.ceil(ms / 60_000)} min left`

function choiceForm(x: NonNullable<TraineeState['exercise']>): string {
  const choices = x.choices
    .map(
      (c, i) =>
        `<label><input type="radio" name="choice" value="${esc(c)}"${i === 0 ? ' required' : ''}> ${esc(c)}</label><br>`,
    )
    .join('')
  return `<form id="answer"><fieldset><legend>Your answer</legend>${choices}</fieldset><button type="submit">Answer</button></form>`
}

const FIX =
  '<p>Find the cause with your tools and fix it in your view. Then reboot your phone (an emulated one with the button, a desk phone by unplugging it) and check: your phone judges the fix.</p>' +
  '<p><button type="button" id="reboot">Reboot my phone</button> <button type="button" id="check">Check my fix</button></p>'

function showExercise(task: HTMLElement, x: NonNullable<TraineeState['exercise']>): void {
  const done = x.done.map(
    (d) => `<li>${Math.round(d.afterMs / 1000)} s: ${esc(d.tool)} — ${esc(d.what)}</li>`,
  )
  task.innerHTML =
    `<p><b>${esc(x.question)}</b> <span id="left">${minutesLeft(x.timeLeftMs)}</span></p>` +
    (x.fix ? FIX : choiceForm(x)) +
    `<ul id="hints">${x.hints.map((h) => `<li>${esc(h)}</li>`).join('')}</ul>` +
    (x.hintsLeft > 0 ? `<button type="button" id="hint">Give me a hint (${x.hintsLeft} left)</button>` : '') +
    (done.length > 0 ? `<h3>What you did</h3><ol id="done">${done.join('')}</ol>` : '')
  document.getElementById('answer')?.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const choice = new FormData(ev.currentTarget as HTMLFormElement).get('choice')
    void api('/trainee/answer', jsonBody({ choice: typeof choice === 'string' ? choice : '' })).then(refresh)
  })
  document.getElementById('hint')?.addEventListener('click', () => {
    void api('/trainee/hint', { method: 'POST' }).then(refresh)
  })
  document.getElementById('reboot')?.addEventListener('click', () => void reboot())
  document.getElementById('check')?.addEventListener('click', () => void check())
}

async function reboot(): Promise<void> {
  const r = await api<{ left: boolean }>('/trainee/reboot', { method: 'POST' })
  $('check-msg').textContent = r.left
    ? 'Reboot sent: an emulated phone restarts within seconds; a desk phone, unplug it and plug it in again.'
    : 'Too many reboots are waiting: unplug your phone and plug it in again.'
}

async function check(): Promise<void> {
  try {
    const r = await api<{ fixed: boolean; booted: boolean; screen: string }>('/trainee/check', {
      method: 'POST',
    })
    $('check-msg').textContent = r.fixed
      ? 'Fixed: your phone signed in.'
      : r.booted
        ? `Not yet: your phone shows "${r.screen}".`
        : 'Your phone has not restarted since your last change: reboot it first.'
  } catch (e) {
    $('check-msg').textContent = why(e)
  }
  await refresh()
}

function showReveal(task: HTMLElement, r: NonNullable<TraineeState['reveal']>): void {
  const verdict = r.correct ? 'right">Right' : 'wrong">Not this time'
  task.innerHTML =
    `<h3 id="verdict" class="${verdict}${r.late ? ' (after the time limit)' : ''}</h3>` +
    (r.fix
      ? `<p>${esc(r.title)}. ${r.correct ? 'You fixed it: your phone signed in after your change.' : 'Your phone did not sign in after a change of yours.'}</p>`
      : `<p>${esc(r.title)}. You answered <b>${esc(r.yours ?? '—')}</b>; the cause: <b>${esc(r.answer)}</b>.</p>`) +
    `<p id="notes">${esc(r.notes)}</p>` +
    `<h4>What proves it</h4><ol id="proof">${r.proof.map((e) => `<li>${esc(e.time.slice(11, 19))} ${esc(e.server)}: ${esc(e.summary)}</li>`).join('')}</ol>`
}

/** Shows the tools the exercise hands out, and only those. */
function showTools(tools: readonly TraineeTool[]): void {
  $('tools').hidden = tools.length === 0
  for (const t of TRAINEE_TOOLS) $(`tool-${t}`).hidden = !tools.includes(t)
}

async function refresh(): Promise<void> {
  const s = await api<TraineeState>('/trainee/state')
  phoneHtml(s)
  showTools(s.exercise?.tools ?? [])
  if ($<HTMLDetailsElement>('journal').open && s.exercise?.tools.includes('journal')) await readJournal()
  const key = JSON.stringify([
    s.exercise?.question,
    s.exercise?.hints.length,
    s.exercise?.done.length,
    s.reveal?.title,
  ])
  if (key === shownTask) {
    if (s.exercise) $('left').textContent = minutesLeft(s.exercise.timeLeftMs)
    return
  }
  // A new exercise (or none): what the last check said is about another one.
  if (shownQuestion !== s.exercise?.question) $('check-msg').textContent = ''
  shownQuestion = s.exercise?.question
  shownTask = key
  const task = $('task')
  if (s.exercise) showExercise(task, s.exercise)
  else if (s.reveal) showReveal(task, s.reveal)
  else task.innerHTML = '<p>Waiting for the trainer.</p>'
}

async function readJournal(): Promise<void> {
  const { events } = await api<{ events: TraineeEvent[] }>('/trainee/tools/journal')
  $('events').innerHTML = events
    .map(
      (e) =>
        `<li>${esc(e.time.slice(11, 19))} ${esc(e.stage ?? '')} ${e.ok === false ? '✗ ' : ''}${esc(e.summary)}</li>`,
    )
    .join('')
}

/** A tool's form: its fields to `run`, what it answers to the tool's status line (or its own output). */
function onTool(form: string, run: (f: Record<string, string>) => Promise<string | undefined>): void {
  $<HTMLFormElement>(form).addEventListener('submit', (ev) => {
    ev.preventDefault()
    const fields = Object.fromEntries(
      [...new FormData(ev.currentTarget as HTMLFormElement)].map(([k, v]) => [
        k,
        typeof v === 'string' ? v : '',
      ]),
    )
    run(fields)
      .then((said) => {
        if (said !== undefined) $('tool-msg').textContent = said
      })
      .catch((e: unknown) => ($('tool-msg').textContent = why(e)))
      .finally(() => void refresh())
  })
}

function wireTools(): void {
  onTool('dns-form', async (f) => {
    const q = new URLSearchParams({ name: f.name ?? '', type: f.type ?? 'A' })
    const r = await api<{ rcode: string; answers: string[] }>(`/trainee/tools/dns?${q}`)
    $('dns-out').textContent = [`${f.name} ${f.type}: ${r.rcode}`, ...r.answers].join('\n')
    return undefined
  })
  onTool('dir-form', async (f) => {
    const r = await api<{
      found: { dn: string; objectClass: string[]; matched: { name: string; value: string }[] }[]
    }>(`/trainee/tools/directory?${new URLSearchParams({ q: f.q ?? '' })}`)
    $('dir-out').innerHTML = r.found.length
      ? r.found
          .map(
            (o) =>
              `<li><b>${esc(o.dn)}</b> (${esc(o.objectClass.join(', '))})<br>${o.matched.map((m) => `${esc(m.name)}: ${esc(m.value)}`).join('<br>')}</li>`,
          )
          .join('')
      : '<li>Nothing found.</li>'
    return undefined
  })
  onTool('dns-edit-form', async (f) => {
    const record = { name: f.name ?? '', type: f.type ?? 'A' }
    const edit = f.remove
      ? { tool: 'dns-edit', remove: record }
      : { tool: 'dns-edit', add: { ...record, value: f.value ?? '' } }
    return (await api<{ done: string }>('/trainee/tools/edit', jsonBody(edit))).done
  })
  onTool('dhcp-edit-form', async (f) => {
    const value = f.value ?? ''
    const option = f.option ?? 'domainName'
    const parsed =
      option === 'domainName'
        ? value
        : value
            .split(option === 'dns' ? ',' : ';')
            .map((v) => v.trim())
            .filter(Boolean)
    return (
      await api<{ done: string }>('/trainee/tools/edit', jsonBody({ tool: 'dhcp-edit', [option]: parsed }))
    ).done
  })
  $<HTMLDetailsElement>('journal').addEventListener('toggle', () => {
    if ($<HTMLDetailsElement>('journal').open)
      void readJournal().catch((e: unknown) => ($('tool-msg').textContent = why(e)))
  })
  $('capture').addEventListener('click', () => {
    void download(token, '/trainee/tools/capture')
      .then(({ name }) => ($('tool-msg').textContent = `Saved ${name}: open it in Wireshark.`))
      .catch((e: unknown) => ($('tool-msg').textContent = why(e)))
  })
}

$('report').addEventListener('click', () => {
  void download(token, '/trainee/report').catch((e: unknown) => ($('tool-msg').textContent = why(e)))
})
wireTools()
refresh().catch((e: unknown) => {
  $('task').textContent = `This page needs the link your trainer gave you (${why(e)}).`
})
setInterval(() => refresh().catch(() => undefined), 2000)
