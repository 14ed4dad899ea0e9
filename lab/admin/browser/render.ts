import { esc } from './escape.js'
import type {
  Endpoint,
  FaultInForce,
  FiredStep,
  JournalFileStatus,
  Lane,
  Registration,
  ScriptStatus,
} from './wire.js'

/*
 * What the dashboard draws, as pure functions of what the admin API answered: HTML strings (every value
 * escaped), tested without a browser. The page (dashboard.ts) puts them in place and wires the controls.
 */

const PHONE_COMMANDS = ['reboot', 'power-cycle', 'hard-reset'] as const

/** The banner over the page while the journal file cannot be written (a full disk); undefined when it can. */
export function journalBanner(status: JournalFileStatus | undefined): string | undefined {
  if (!status || status.writing) return undefined
  return `The journal file cannot be written (${status.error ?? 'unknown error'}): ${status.missing} event(s) are in memory only. Free space in the lab's state folder; writing resumes by itself.`
}

/** The name of a script step: its own, else its number. */
export const stepName = (f: FiredStep): string => f.name ?? `step ${f.step + 1}`

/** The script's state in words. */
export function scriptLine(s: ScriptStatus): string {
  if (s.steps === 0) return 'The scenario has no script.'
  if (s.next === undefined) return 'Done.'
  return `Step ${s.next + 1} of ${s.steps} waiting${s.paused ? ' (paused).' : '.'}`
}

export function faultsHtml(faults: readonly FaultInForce[]): string {
  if (faults.length === 0) return '<li class="muted">none</li>'
  return faults
    .map((r) => {
      const rule = esc(JSON.stringify({ match: r.rule.match, fault: r.rule.fault, times: r.rule.times }))
      const id = esc(r.id)
      return `<li><code>${rule}</code> <span class="muted">(${esc(r.origin)}, applied ${r.applied})</span> <button type="button" data-remove="${id}">Remove ${id}</button></li>`
    })
    .join('')
}

export function serversHtml(endpoints: readonly Endpoint[], state: Readonly<Record<string, string>>): string {
  const head = '<tr><th>Server</th><th>State</th><th>Socket</th><th>Address</th><th>Stands for</th></tr>'
  const row = (e: Endpoint): string =>
    `<tr><td>${esc(e.server)}</td><td>${esc(state[e.server] ?? '?')}</td><td>${esc(`${e.name} ${e.transport}`)}</td>` +
    `<td>${esc(`${e.address}:${e.port}`)}</td><td>${esc(`${e.hosts.join(', ')} (:${e.standardPort})`)}</td></tr>`
  return head + endpoints.map(row).join('')
}

export function registrationsHtml(registrations: readonly Registration[]): string {
  if (registrations.length === 0) return '<tr><td class="muted">nobody is registered</td></tr>'
  const head =
    '<tr><th>User</th><th>Contact</th><th>From</th><th>Since (lab)</th><th>Until (lab)</th><th>Refreshed</th></tr>'
  const row = (g: Registration): string =>
    `<tr><td>${esc(g.user)}</td><td>${esc(g.contact)}</td><td>${esc(g.peer)}</td><td>${esc(g.since)}</td><td>${esc(g.until)}</td><td>${g.refreshed}</td></tr>`
  return head + registrations.map(row).join('')
}

/** One phone's lane: who, the screen, exports, commands, script marks, the stages and the open stages' events. */
export function laneHtml(
  d: Lane,
  stages: readonly string[],
  open: ReadonlySet<string>,
  marks: readonly FiredStep[],
): string {
  const key = encodeURIComponent(d.key)
  const who = esc([d.macs.join(', '), d.ips.join(', '), d.users.join(', ')].filter(Boolean).join(' · '))
  const alert = d.alert ? ` — <span class="alert" role="alert">${esc(d.alert)}</span>` : ''
  const exports =
    ` · <a href="/timeline/${key}">JSON</a> · <a href="/timeline/${key}?format=html" download>HTML for a bug report</a>` +
    ` · <a href="/timeline/${key}?format=svg" target="_blank" class="ladder-link">Ladder (SVG)</a>` +
    captureButton(d)
  return (
    `<article class="lane" data-device="${esc(d.key)}"><h3>${who}</h3>` +
    `<p>Screen: <span class="screen">${esc(d.screen)}</span>${alert}${exports}</p>` +
    commandsHtml(d) +
    marksHtml(d, marks) +
    `<div class="stages" role="group" aria-label="stages">${stages.map((s) => stageButton(d, s, open)).join('')}</div>` +
    stages
      .filter((s) => open.has(`${d.key}|${s}`))
      .map((s) => panelHtml(d, s))
      .join('') +
    '</article>'
  )
}

function stageButton(d: Lane, s: string, open: ReadonlySet<string>): string {
  const st = d.stages[s]
  const id = `${d.key}|${s}`
  const count = st ? `${st.last === 'ok' ? '✓ ' : '✗ '}${st.count}` : '—'
  return (
    `<button type="button" class="stage ${st ? st.last : ''}" data-open="${esc(id)}" aria-expanded="${open.has(id)}"` +
    `${st ? '' : ' disabled'}>${esc(s)}<br>${count}</button>`
  )
}

/** A capture button for the phone (and one stage of it), when the phone has an address to capture by. */
function captureButton(d: Lane, stage?: string): string {
  const of = d.macs[0] ?? d.ips[0]
  if (of === undefined) return ''
  const data = stage ? ` data-stage="${esc(stage)}"` : ''
  return ` <button type="button" data-capture="${esc(of)}"${data}>Capture ${stage ? `of ${esc(stage)} ` : ''}(pcapng)</button>`
}

function panelHtml(d: Lane, s: string): string {
  const events = d.events
    .filter((e) => e.stage === s)
    .map(
      (e) =>
        `<details><summary><span class="${e.ok ? 'ok-mark">✓' : 'bad-mark">✗'}</span> #${e.seq} ${esc(e.time.slice(11, 23))} ${esc(e.summary)}</summary>` +
        `<pre>${esc(JSON.stringify(e.detail, null, 2))}</pre></details>`,
    )
    .join('')
  const ladder = `/timeline/${encodeURIComponent(d.key)}?format=svg&stage=${encodeURIComponent(s)}`
  return `<div><b>${esc(s)}</b>${captureButton(d, s)} <a href="${esc(ladder)}" target="_blank" class="ladder-link">Ladder of ${esc(s)}</a>${events}</div>`
}

function commandsHtml(d: Lane): string {
  const mac = d.macs[0]
  if (mac === undefined) return ''
  const buttons = PHONE_COMMANDS.map(
    (c) => `<button type="button" data-command="${c}" data-mac="${esc(mac)}">${c} ${esc(mac)}</button>`,
  ).join(' ')
  return `<p>${buttons} <span class="muted">(an emulated phone living with --live takes it)</span></p>`
}

/** The script's marks since the lane's first event. */
function marksHtml(d: Lane, marks: readonly FiredStep[]): string {
  const since = d.events[0]?.time ?? d.lastTime
  const mine = marks.filter((m) => m.at >= since)
  if (mine.length === 0) return ''
  const spans = mine.map((m) => `<span class="mark">⚑ ${esc(stepName(m))} ${esc(m.at.slice(11, 19))}</span>`)
  return `<p class="marks">Script marks: ${spans.join(' ')}</p>`
}

/** The fault form's fields as a rule for POST /faults (empty fields left out; `set` as k=v,k=v; numbers read). */
export function faultRule(f: Readonly<Record<string, string>>): Record<string, unknown> {
  const fault: Record<string, unknown> = { kind: f.kind }
  if (f.code) fault.code = f.code
  if (f.ms) fault.ms = Number(f.ms)
  if (f.set)
    fault.set = Object.fromEntries(
      f.set.split(',').map((kv) => {
        const [k = '', v = ''] = kv.split('=')
        return [k.trim(), /^-?\d+$/.test(v) ? Number(v) : v]
      }),
    )
  const match: Record<string, unknown> = { server: f.server }
  if (f.field) {
    const [name = '', value = ''] = f.field.split('=')
    match.fields = { [name]: value }
  }
  return { match, fault, ...(f.times ? { times: Number(f.times) } : {}) }
}
