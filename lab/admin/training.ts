import type { JournalEvent } from '../../core/journal/journal.js'
import type { Lab } from '../runtime.js'
import type { Attempt, Trainee, TrainingSession } from '../training/session.js'
import { buildTimelines, type DeviceTimeline } from './timeline.js'

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

/** The lane of the trainee's phone in the lab's timelines, if it has talked to the lab. */
function laneOf(t: Trainee, lab: Lab): DeviceTimeline | undefined {
  return buildTimelines(lab.journal.query({}, 100_000), lab.clock.now()).find((d) =>
    d.macs.includes(t.device),
  )
}

/** Whether the trainee's exercise allows the per-stage verdicts (they all but name the cause). */
const verdictsAllowed = (session: TrainingSession, t: Trainee): boolean =>
  session.current(t)?.exercise.showStages === true

/**
 * What the servers saw of the trainee's phone, as their journal tool shows it: never an event that shows a
 * fault, each event's ✓/✗ only when the exercise allows verdicts.
 */
export function phoneEvents(session: TrainingSession, t: Trainee, lab: Lab): object[] {
  const lane = laneOf(t, lab)
  if (!lane) return []
  const events = traineeEvents(lane.events).slice(-80).map(forTrainee)
  return verdictsAllowed(session, t) ? events : events.map(({ ok: _ok, ...e }) => e)
}

/**
 * The one phone a trainee works on, as its user sees it: the status line of the one screen inference (drawn
 * as the CX700's screen on the page); the per-stage verdicts only when the exercise allows them.
 */
function traineePhone(session: TrainingSession, t: Trainee, lab: Lab): object {
  const lane = laneOf(t, lab)
  if (!lane) return { screen: 'Starting', talked: false, stages: {} }
  return { screen: lane.screen, talked: true, stages: verdictsAllowed(session, t) ? lane.stages : {} }
}

function reveal(session: TrainingSession, t: Trainee, a: Attempt, events: readonly JournalEvent[]): object {
  return {
    title: a.exercise.title,
    yours: a.answer ?? null,
    // A fix exercise has no answer to give: the phone signed in after the trainee's change, or it did not.
    fix: a.exercise.kind === 'fix',
    answer: a.exercise.answer ?? 'the fix in the notes',
    correct: a.correct === true,
    late: a.late === true,
    notes: a.exercise.notes,
    proof: session.proof(t, a, events).map((e) => ({ ...forTrainee(e), server: e.server })),
  }
}

/** What the trainee's page shows: the phone, the exercise in progress or the last one's reveal. */
export function traineeState(session: TrainingSession, t: Trainee, lab: Lab, now = Date.now()): object {
  const current = session.current(t)
  const last = t.attempts.at(-1)
  return {
    name: t.name,
    device: t.device,
    phone: traineePhone(session, t, lab),
    ...(current
      ? {
          exercise: {
            fix: current.exercise.kind === 'fix',
            question: current.exercise.question,
            choices: current.exercise.choices,
            tools: current.exercise.tools,
            done: current.actions.map((x) => ({
              afterMs: x.at - current.assignedAt,
              tool: x.tool,
              what: x.what,
            })),
            hints: current.exercise.hints.slice(0, current.hintsShown),
            hintsLeft: current.exercise.hints.length - current.hintsShown,
            timeLeftMs: Math.max(0, session.timeLimitMs(current) - (now - current.assignedAt)),
          },
        }
      : {}),
    ...(!current && last ? { reveal: reveal(session, t, last, lab.journal.query({}, 100_000)) } : {}),
  }
}

/** The CX700's face as the trainee page draws it: the screen's status line is filled in by the page's script. */
const PHONE_SVG = `<svg id="phone-drawing" role="img" aria-labelledby="phone-title" viewBox="0 0 320 230" width="320" height="230">
<title id="phone-title">The phone's screen</title>
<rect x="4" y="4" width="312" height="222" rx="22" fill="#2b2d31"/>
<rect x="28" y="22" width="264" height="120" rx="6" fill="#c9d6c3" stroke="#111" stroke-width="3"/>
<text x="40" y="44" font-size="12" fill="#333" font-family="system-ui, sans-serif">Office Communicator</text>
<text x="280" y="44" font-size="12" fill="#333" font-family="system-ui, sans-serif" text-anchor="end" id="screen-user"></text>
<line x1="36" y1="52" x2="284" y2="52" stroke="#555" stroke-width="1"/>
<text x="160" y="88" font-size="16" font-weight="700" fill="#111" font-family="system-ui, sans-serif" text-anchor="middle" id="screen">…</text>
<text x="160" y="110" font-size="16" font-weight="700" fill="#111" font-family="system-ui, sans-serif" text-anchor="middle" id="screen-2"></text>
<g fill="#44474d">${[0, 1, 2, 3]
  .map((i) => `<rect x="${36 + i * 64}" y="156" width="56" height="16" rx="4"/>`)
  .join('')}${[0, 1, 2].map((i) => `<circle cx="${120 + i * 40}" cy="${196}" r="11"/>`).join('')}</g></svg>`

/** The page a trainee opens (its link carries the trainee's token after #): no data until the token is shown. */
export function traineePage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Your phone</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem;max-width:60rem}.stages{display:flex;gap:.3rem;flex-wrap:wrap}
.stage{border:2px solid #888;border-radius:4px;padding:.2rem .5rem}.ok{border-color:#1a7f37}.failed{border-color:#cf222e;font-weight:700}
button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid Highlight}.right{color:#1a7f37}.wrong{color:#cf222e}
.tool{border:1px solid #bbb;border-radius:6px;padding:.5rem 1rem;margin:.5rem 0}pre{white-space:pre-wrap;background:#f4f4f4;padding:.4rem}</style></head>
<body><main>
<h1 id="who">Your phone</h1>
<section aria-labelledby="h-phone"><h2 id="h-phone">The phone</h2>${PHONE_SVG}
<p class="stages" id="stages"></p></section>
<section aria-labelledby="h-task"><h2 id="h-task">Your task</h2><div id="task" aria-live="polite"><p>Waiting for the trainer.</p></div><p id="check-msg" role="status"></p></section>
<section aria-labelledby="h-tools" id="tools" hidden><h2 id="h-tools">Your tools</h2>
<div class="tool" id="tool-dns-lookup" hidden><h3>Look up a DNS name</h3><form id="dns-form"><label>Name <input name="name" id="dns-name" size="40" required></label>
<label>Type <select name="type" id="dns-type">${['SRV', 'A', 'CNAME', 'MX', 'TXT', 'NS', 'PTR'].map((t) => `<option>${t}</option>`).join('')}</select></label> <button type="submit">Look up</button></form><pre id="dns-out"></pre></div>
<div class="tool" id="tool-directory-search" hidden><h3>Search the directory</h3><form id="dir-form"><label>Containing <input name="q" id="dir-q" size="30" required></label> <button type="submit">Search</button></form><ol id="dir-out"></ol></div>
<div class="tool" id="tool-journal" hidden><details id="journal"><summary>What the servers saw of your phone</summary><ol id="events"></ol></details></div>
<div class="tool" id="tool-capture" hidden><button type="button" id="capture">Save your phone's packet capture (Wireshark)</button></div>
<div class="tool" id="tool-dns-edit" hidden><h3>Change a DNS record (your view)</h3><form id="dns-edit-form"><label>Name <input name="name" id="edit-name" size="36" required></label>
<label>Type <select name="type" id="edit-type">${['SRV', 'A', 'CNAME', 'MX', 'TXT'].map((t) => `<option>${t}</option>`).join('')}</select></label>
<label>Value <input name="value" id="edit-value" size="32" placeholder="0 100 389 dc01.corp.contoso.test"></label>
<label><input type="checkbox" name="remove" id="edit-remove"> remove instead</label> <button type="submit">Apply</button></form></div>
<div class="tool" id="tool-dhcp-edit" hidden><h3>Change a DHCP option (your view)</h3><form id="dhcp-edit-form"><label>Option <select name="option" id="dhcp-option">
<option value="domainName">15 — domain name</option><option value="searchList">119 — search list (a;b)</option><option value="dns">6 — DNS servers (a,b)</option></select></label>
<label>Value <input name="value" id="dhcp-value" size="32"></label> <button type="submit">Apply</button></form></div>
<p id="tool-msg" role="status"></p></section>
<p><button type="button" id="report">Download my report</button></p>
</main>
<script type="module" src="/assets/trainee.js"></script></body></html>`
}
