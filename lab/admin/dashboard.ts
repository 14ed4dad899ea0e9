import { ladderSvg } from './ladder.js'
import { STAGES, type DeviceTimeline } from './timeline.js'
import { esc } from './html.js'

/**
 * The lab dashboard: a page served by the admin API, its script a TypeScript module of the lab's
 * (lab/admin/browser/dashboard.ts, built by `npm run build`, served under /assets/; no CDN). It reads
 * the same routes as the CLI — /endpoints, /scenario, /scenarios, /faults, /timeline, /clock, /script,
 * /sip/registrations — follows
 * /journal/events (server-sent events; a streamed /journal?follow=1 when a token is needed) for live updates,
 * and can add or remove faults, switch scenarios, run the lab clock fast or move it on, and leave a reboot,
 * power-cycle or hard reset for an emulated phone. Keyboard first:
 * every control is a native button, link or form field; stages are buttons that expand their events.
 */

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --idle: #8c959f; --fg: CanvasText; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1rem 1.5rem; max-width: 80rem; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem }
table { border-collapse: collapse } th, td { text-align: left; padding: .2rem .6rem .2rem 0; vertical-align: top }
.lanes { display: grid; gap: 1rem } .lane { border: 1px solid var(--idle); border-radius: 6px; padding: .6rem .8rem }
.lane h3 { margin: 0; font-size: 1rem } .screen { font-weight: 600 } .alert { color: var(--bad); font-weight: 600 }
.stages { display: grid; grid-template-columns: repeat(${STAGES.length}, minmax(5.5rem, 1fr)); gap: .3rem; margin: .5rem 0 }
.stage { border: 2px solid var(--idle); border-radius: 4px; background: Canvas; color: var(--fg); padding: .3rem; font: inherit; cursor: pointer; text-align: center }
.stage.ok { border-color: var(--ok) } .stage.failed { border-color: var(--bad); font-weight: 700 } .stage[disabled] { opacity: .45; cursor: default }
.stage:focus-visible, button:focus-visible, a:focus-visible, select:focus-visible, input:focus-visible { outline: 3px solid Highlight; outline-offset: 2px }
details { margin: .15rem 0 } summary { cursor: pointer } pre { white-space: pre-wrap; margin: .25rem 0 .5rem 1rem; font-size: .85rem }
.ok-mark { color: var(--ok) } .bad-mark { color: var(--bad) } form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end }
label { display: flex; flex-direction: column; font-size: .85rem } .muted { color: var(--idle) }
#journal-banner { background: #fde8e8; color: #7a1111; border: 1px solid #e0a0a0; padding: .6rem .8rem; font-weight: 600 }
`

/** One device's timeline as a self-contained HTML file, for a bug report. */
export function timelineHtml(t: DeviceTimeline, scenario: string): string {
  const rows = t.events
    .map(
      (e) =>
        `<details><summary><span class="${e.ok ? 'ok-mark' : 'bad-mark'}">${e.ok ? '✓' : '✗'}</span> #${e.seq} ${esc(e.time)} <b>${esc(e.stage)}</b> ${esc(e.summary)}</summary><pre>${esc(JSON.stringify(e.detail, null, 2))}</pre></details>`,
    )
    .join('\n')
  const stages = STAGES.map((s) => {
    const st = t.stages[s]
    return `<td class="${st ? st.last : ''}">${esc(s)}: ${st ? `${st.count} (${st.failed} failed)` : '—'}</td>`
  }).join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cx700-lab timeline ${esc(t.key)}</title><style>${STYLE}</style></head><body>
<h1>cx700-lab — timeline of ${esc(t.key)}</h1>
<p>Scenario <b>${esc(scenario)}</b>. MAC ${esc(t.macs.join(', ') || '—')}, IP ${esc(t.ips.join(', ') || '—')}, user ${esc(t.users.join(', ') || '—')}.
Screen: <span class="screen">${esc(t.screen)}</span>${t.alert ? ` — <span class="alert">${esc(t.alert)}</span>` : ''}.</p>
<table><tr>${stages}</tr></table>
<h2>Ladder of the last boot</h2>
<div class="ladder-box">${ladderSvg(t)}</div>
<h2>Events</h2>
${rows}
</body></html>`
}

/** The page; `STAGES` is handed to its script in the lanes' data-stages. */
export function dashboardPage(training = false): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cx700-lab dashboard</title><style>${STYLE}</style></head>
<body>
<header><h1>cx700-lab — TEST LAB ONLY</h1><p class="muted" id="live" aria-live="polite">connecting…</p></header>
<main data-training="${training ? 'on' : 'off'}">
<p id="journal-banner" role="alert" class="banner" hidden></p>
<section aria-labelledby="h-scenario"><h2 id="h-scenario">Scenario</h2>
  <p>In force: <b id="scenario-name">…</b></p>
  <form id="scenario-form"><label>Switch to<select id="scenario-select" name="path"></select></label><button type="submit">Load scenario</button></form>
  <p id="scenario-msg" role="status"></p>
</section>
<section aria-labelledby="h-servers"><h2 id="h-servers">Servers</h2><table id="servers"></table><p id="memory" class="muted"></p></section>
<section aria-labelledby="h-faults"><h2 id="h-faults">Faults</h2>
  <ul id="faults"></ul>
  <form id="fault-form">
    <label>Server<select name="server" id="fault-server"></select></label>
    <label>Kind<select name="kind" id="fault-kind">${['drop', 'delay', 'reset', 'garbage', 'corrupt', 'truncate', 'error', 'answer'].map((k) => `<option>${k}</option>`).join('')}</select></label>
    <label>Code (error)<input name="code" id="fault-code" size="12"></label>
    <label>ms (delay)<input name="ms" id="fault-ms" size="6" inputmode="numeric"></label>
    <label>Set (answer, k=v)<input name="set" id="fault-set" size="16"></label>
    <label>Field (name=value)<input name="field" id="fault-field" size="22"></label>
    <label>Times<input name="times" id="fault-times" size="4" inputmode="numeric"></label>
    <button type="submit">Add fault</button>
  </form>
  <p id="fault-msg" role="status"></p>
</section>
<section aria-labelledby="h-clock"><h2 id="h-clock">Lab clock</h2>
  <p>Lab time <b id="clock-lab">…</b> · <b id="clock-rate">…</b>× real time · wall <span id="clock-wall" class="muted">…</span></p>
  <form id="clock-form"><label>Rate (lab s per wall s)<input name="rate" id="clock-rate-in" size="8" inputmode="decimal"></label><label>Advance by<input name="advance" id="clock-advance" size="8" placeholder="24h"></label><button type="submit">Change the clock</button></form>
  <p id="clock-msg" role="status"></p>
</section>
<section aria-labelledby="h-script"><h2 id="h-script">Script</h2>
  <ol id="script-steps"></ol><p id="script-next" class="muted"></p>
  <p><button type="button" data-script="pause">Pause</button> <button type="button" data-script="resume">Resume</button> <button type="button" data-script="skip">Skip the waiting step</button> <button type="button" data-script="restart">Restart</button></p>
</section>
<section aria-labelledby="h-training" id="training" hidden><h2 id="h-training">Training</h2>
  <p id="training-pack"></p>
  <table id="trainees"></table>
  <form id="trainee-form"><label>Trainee<input name="name" id="trainee-name" size="14"></label>
    <label>Their phone (MAC)<input name="device" id="trainee-device" size="18" list="known-macs"></label><datalist id="known-macs"></datalist>
    <button type="submit">Add trainee</button></form>
  <form id="assign-form"><label>Trainee<select id="assign-trainee"></select></label>
    <label>Exercise<select id="assign-exercise"></select></label><button type="submit">Assign</button></form>
  <p id="assign-scope" class="muted" aria-live="polite"></p>
  <p id="training-msg" role="status"></p>
  <p><button type="button" id="class-summary">Class summary</button></p>
</section>
<section aria-labelledby="report-title" id="report-view" hidden><h2 id="report-title">Report</h2>
  <p><button type="button" id="print-report">Print</button> <button type="button" id="close-report">Close</button></p>
  <iframe id="report-frame" title="The report" sandbox="allow-same-origin allow-modals" style="width:100%;height:28rem;border:1px solid var(--idle)"></iframe>
</section>
<section aria-labelledby="h-registrations"><h2 id="h-registrations">Registered on the pool</h2><table id="registrations"></table></section>
<section aria-labelledby="h-devices"><h2 id="h-devices">Phones</h2>
  <form id="golden-form"><label>Compare phone<select id="golden-device" name="device"></select></label>
    <label>with a golden timeline<input type="file" id="golden-file" name="file" accept=".json,application/json"></label>
    <label>tolerance<input id="golden-tolerance" name="tolerance" size="5" value="2s"></label><button type="submit">Compare</button></form>
  <div id="golden-result" role="status"></div>
  <p id="capture-msg" role="status"></p>
  <div class="lanes" id="lanes" data-stages='${esc(JSON.stringify(STAGES))}'><p class="muted">No phone has talked to the lab yet.</p></div></section>
</main>
<script type="module" src="/assets/dashboard.js"></script>
</body></html>`
}
