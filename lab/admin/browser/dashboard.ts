import { $, apiWith, auth, download, esc, jsonBody, pageToken, why } from './api.js'
import { onSubmit, say } from './forms.js'
import { onTrainingButton, refreshTraining, wireTraining } from './training-console.js'
import {
  faultRule,
  faultsHtml,
  journalBanner,
  laneHtml,
  registrationsHtml,
  scriptLine,
  serversHtml,
  stepName,
} from './render.js'
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
 * The dashboard's script: it reads the same routes as the CLI, follows the journal for live updates, and
 * wires the page's forms and buttons. What it draws is render.ts's; the page is lab/admin/dashboard.ts's.
 */

const token = pageToken(true)
const api = apiWith(token)
const STAGES = JSON.parse($('lanes').dataset.stages ?? '[]') as string[]
const open = new Set<string>()
let marks: readonly FiredStep[] = []

interface Health {
  readonly servers?: readonly { readonly name: string; readonly state: string }[]
  readonly memory?: Readonly<
    Record<'rssMb' | 'heapUsedMb' | 'heapTotalMb' | 'journalMb' | 'captureMb', number>
  >
  readonly journalFile?: JournalFileStatus
}

async function refreshStatic(): Promise<void> {
  const sc = await api<{ name: string; file: string; postedFrom?: string }>('/scenario')
  say('scenario-name', `${sc.name} (${sc.postedFrom !== undefined ? `sent from ${sc.postedFrom}` : sc.file})`)
  const list = await api<{ scenarios: { name: string; path: string }[] }>('/scenarios')
  // The one in force preselected; one that is no file here (sent as text) preselects none of the others.
  const known = list.scenarios.some((s) => s.path === sc.file)
  $('scenario-select').innerHTML =
    (known ? '' : '<option value="" selected disabled>— choose a scenario —</option>') +
    list.scenarios
      .map(
        (s) =>
          `<option value="${esc(s.path)}"${s.path === sc.file ? ' selected' : ''}>${esc(s.name)}</option>`,
      )
      .join('')
  const ep = await api<{ endpoints: Endpoint[] }>('/endpoints')
  const health = await refreshHealth()
  $('servers').innerHTML = serversHtml(
    ep.endpoints,
    Object.fromEntries((health.servers ?? []).map((s) => [s.name, s.state])),
  )
  const fs = $<HTMLSelectElement>('fault-server')
  if (fs.options.length === 0)
    fs.innerHTML = [...new Set(ep.endpoints.map((e) => e.server))]
      .map((s) => `<option>${esc(s)}</option>`)
      .join('')
  await refreshFaults()
}

async function refreshHealth(): Promise<Health> {
  const health = await fetch('/health', { headers: auth(token) })
    .then((r) => r.json() as Promise<Health>)
    .catch((): Health => ({ servers: [] }))
  const banner = journalBanner(health.journalFile)
  $('journal-banner').hidden = banner === undefined
  say('journal-banner', banner ?? '')
  const m = health.memory
  if (m)
    say(
      'memory',
      `Memory: RSS ${m.rssMb} MiB (V8 heap ${m.heapUsedMb} of ${m.heapTotalMb} MiB); in memory: journal ${m.journalMb} MiB, captures ${m.captureMb} MiB`,
    )
  return health
}

async function refreshFaults(): Promise<void> {
  $('faults').innerHTML = faultsHtml((await api<{ faults: FaultInForce[] }>('/faults')).faults)
}

async function refreshClock(): Promise<void> {
  const c = await api<{ labTime: string; rate: number; wallTime: string }>('/clock')
  say('clock-lab', c.labTime)
  say('clock-rate', String(c.rate))
  say('clock-wall', c.wallTime)
}

async function refreshScript(): Promise<void> {
  const { script } = await api<{ script: ScriptStatus }>('/script')
  marks = script.fired
  $('script-steps').innerHTML = script.fired
    .map((f) => `<li>${esc(stepName(f))} <span class="muted">${esc(f.at)}</span></li>`)
    .join('')
  say('script-next', scriptLine(script))
}

async function refreshRegistrations(): Promise<void> {
  const r = await api<{ registrations: Registration[] }>('/sip/registrations').catch(() => ({
    registrations: [],
  }))
  $('registrations').innerHTML = registrationsHtml(r.registrations)
}

async function refreshTimeline(): Promise<void> {
  refreshTraining().catch(() => undefined)
  refreshClock().catch(() => undefined)
  await refreshScript().catch(() => undefined)
  refreshRegistrations().catch(() => undefined)
  const t = await api<{ devices: Lane[] }>('/timeline')
  if (t.devices.length === 0) return
  $('known-macs').innerHTML = t.devices
    .flatMap((d) => d.macs)
    .map((m) => `<option value="${esc(m)}">`)
    .join('')
  const gd = $<HTMLSelectElement>('golden-device')
  const chosen = gd.value
  gd.innerHTML = t.devices
    .map(
      (d) =>
        `<option value="${esc(d.key)}"${d.key === chosen ? ' selected' : ''}>${esc(d.macs[0] ?? d.key)}</option>`,
    )
    .join('')
  $('lanes').innerHTML = t.devices.map((d) => laneHtml(d, STAGES, open, marks)).join('')
}

let pending = false
/** One redraw for a burst of journal events. */
function soon(): void {
  if (pending) return
  pending = true
  setTimeout(() => {
    pending = false
    refreshTimeline().catch(() => undefined)
  }, 200)
}

/** What a button of the lanes, the faults or the training table does. */
async function onButton(b: HTMLButtonElement): Promise<void> {
  const d = b.dataset
  if (d.open) {
    if (open.has(d.open)) open.delete(d.open)
    else open.add(d.open)
    await refreshTimeline()
    document.querySelector<HTMLElement>(`[data-open="${CSS.escape(d.open)}"]`)?.focus()
  }
  if (d.command && d.mac) {
    await api(`/phones/${encodeURIComponent(d.mac)}/${d.command}`, { method: 'POST' })
    say('live', `${d.command} left for ${d.mac}`)
  }
  if (d.capture) await saveCapture(d.capture, d.stage)
  if (d.download)
    await download(token, d.download).catch((e: unknown) => say('training-msg', `No report: ${why(e)}`))
  await onTrainingButton(b)
  if (d.remove) {
    await api(`/faults/${encodeURIComponent(d.remove)}`, { method: 'DELETE' })
    await refreshFaults()
  }
}

async function saveCapture(device: string, stage: string | undefined): Promise<void> {
  const path = `/capture/${encodeURIComponent(device)}${stage ? `?stage=${encodeURIComponent(stage)}` : ''}`
  try {
    const { name, res } = await download(token, path)
    say('capture-msg', `Saved ${name} (${res.headers.get('x-capture-frames')} frames; open it in Wireshark).`)
  } catch (e) {
    say('capture-msg', `No capture: ${why(e)}`)
  }
}

function wireForms(): void {
  onSubmit(
    'fault-form',
    'fault-msg',
    async (f) => `Added fault ${(await api<{ id: string }>('/faults', jsonBody(faultRule(f)))).id}.`,
    refreshFaults,
  )
  onSubmit(
    'clock-form',
    'clock-msg',
    async (f) => {
      await api(
        '/clock',
        jsonBody({
          ...(f.rate ? { rate: Number(f.rate) } : {}),
          ...(f.advance ? { advance: f.advance } : {}),
        }),
      )
      return 'Clock changed.'
    },
    refreshClock,
  )
  onSubmit(
    'scenario-form',
    'scenario-msg',
    async (f) => {
      await api('/scenario', jsonBody({ path: f.path }))
      return `Loaded ${f.path}.`
    },
    refreshStatic,
  )
  onSubmit('golden-form', 'golden-result', compareGolden)
  wireTraining()
}

async function compareGolden(f: Record<string, string>): Promise<string | undefined> {
  const file = $<HTMLInputElement>('golden-file').files?.[0]
  if (!file) return 'Choose a golden timeline file (cx700-lab timeline export).'
  const tolerance = f.tolerance || '2s'
  const golden: unknown = JSON.parse(await file.text())
  const r = await api<{
    device: string
    against: string
    differs: boolean
    differences: { stage: string; what: string; detail: string }[]
  }>(
    `/timeline/${encodeURIComponent($<HTMLSelectElement>('golden-device').value)}/diff`,
    jsonBody({ golden, tolerance }),
  )
  const out = $('golden-result')
  const list =
    '<ul id="golden-differences">' +
    r.differences.map((d) => `<li><b>${esc(d.stage)}</b> ${esc(d.what)}: ${esc(d.detail)}</li>`).join('') +
    '</ul>'
  out.innerHTML = r.differs
    ? `<p>${esc(r.device)} differs from ${esc(file.name)} (${esc(r.against)}):</p>${list}`
    : `<p>${esc(r.device)} booted as ${esc(file.name)} did (within ${esc(tolerance)}${r.differences.length ? '; only the one-time steps of another kind of boot differ' : ''}).</p>${r.differences.length ? list : ''}`
  return undefined
}

/** Live updates: server-sent events, or (a token cannot ride on EventSource) a streamed /journal. */
async function follow(): Promise<void> {
  if (!token) {
    const es = new EventSource('/journal/events')
    es.onopen = () => say('live', 'live')
    es.onmessage = () => soon()
    es.onerror = () => say('live', 'reconnecting…')
    return
  }
  for (;;) {
    try {
      const res = await fetch('/journal?follow=1&limit=1', { headers: auth(token) })
      say('live', 'live')
      const reader = res.body?.getReader()
      while (reader && !(await reader.read()).done) soon()
    } catch {
      // reconnect below
    }
    say('live', 'reconnecting…')
    await new Promise((r) => setTimeout(r, 1000))
  }
}

function start(): void {
  document.addEventListener('click', (ev) => {
    const b = (ev.target as Element | null)?.closest('button')
    if (b) void onButton(b).catch((e: unknown) => say('live', why(e)))
  })
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-script]'))
    b.addEventListener('click', () => {
      void api(`/script/${b.dataset.script ?? ''}`, { method: 'POST' })
        .catch(() => undefined) // no script: nothing to do
        .then(refreshScript)
    })
  wireForms()
  refreshStatic()
    .then(refreshTimeline)
    .catch((e: unknown) => say('live', `error: ${why(e)}`))
  void follow()
  setInterval(() => {
    refreshTimeline().catch(() => undefined)
    refreshHealth().catch(() => undefined)
  }, 10_000)
}

start()
