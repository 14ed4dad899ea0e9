import { STAGES, type DeviceTimeline } from './timeline.js'

/**
 * The lab dashboard: one self-contained page (no CDN, no build step) served by the admin API. It reads
 * the same routes as the CLI — /endpoints, /scenario, /scenarios, /faults, /timeline, /clock, /script,
 * /sip/registrations — follows
 * /journal/events (server-sent events; a streamed /journal?follow=1 when a token is needed) for live updates,
 * and can add or remove faults, switch scenarios, run the lab clock fast or move it on, and leave a reboot,
 * power-cycle or hard reset for an emulated phone. Keyboard first:
 * every control is a native button, link or form field; stages are buttons that expand their events.
 */

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

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
<h2>Events</h2>
${rows}
</body></html>`
}

/** The page; `STAGES` is handed to its script. */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cx700-lab dashboard</title><style>${STYLE}</style></head>
<body>
<header><h1>cx700-lab — TEST LAB ONLY</h1><p class="muted" id="live" aria-live="polite">connecting…</p></header>
<main>
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
  <p id="training-msg" role="status"></p>
</section>
<section aria-labelledby="h-registrations"><h2 id="h-registrations">Registered on the pool</h2><table id="registrations"></table></section>
<section aria-labelledby="h-devices"><h2 id="h-devices">Phones</h2>
  <form id="golden-form"><label>Compare phone<select id="golden-device" name="device"></select></label>
    <label>with a golden timeline<input type="file" id="golden-file" name="file" accept=".json,application/json"></label>
    <label>tolerance<input id="golden-tolerance" name="tolerance" size="5" value="2s"></label><button type="submit">Compare</button></form>
  <div id="golden-result" role="status"></div>
  <p id="capture-msg" role="status"></p>
  <div class="lanes" id="lanes"><p class="muted">No phone has talked to the lab yet.</p></div></section>
</main>
<script>
const STAGES = ${JSON.stringify(STAGES)};
const token = new URLSearchParams(location.hash.slice(1)).get('token') || sessionStorage.getItem('labToken') || '';
if (token) sessionStorage.setItem('labToken', token);
const api = async (path, opts = {}) => {
  const headers = Object.assign({}, opts.headers || {}, token ? { authorization: 'Bearer ' + token } : {});
  const res = await fetch(path, Object.assign({}, opts, { headers }));
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error((body && body.error) || res.status);
  return body;
};
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const open = new Set();
async function refreshStatic() {
  const sc = await api('/scenario');
  document.getElementById('scenario-name').textContent = sc.name + ' (' + sc.file + ')';
  const list = await api('/scenarios');
  const sel = document.getElementById('scenario-select');
  sel.innerHTML = list.scenarios.map((s) => '<option value="' + esc(s.path) + '"' + (s.path === sc.file ? ' selected' : '') + '>' + esc(s.name) + '</option>').join('');
  const ep = await api('/endpoints');
  const health = await refreshHealth();
  const state = Object.fromEntries((health.servers || []).map((s) => [s.name, s.state]));
  document.getElementById('servers').innerHTML = '<tr><th>Server</th><th>State</th><th>Socket</th><th>Address</th><th>Stands for</th></tr>' +
    ep.endpoints.map((e) => '<tr><td>' + esc(e.server) + '</td><td>' + esc(state[e.server] || '?') + '</td><td>' + esc(e.name + ' ' + e.transport) + '</td><td>' + esc(e.address + ':' + e.port) + '</td><td>' + esc((e.hosts || []).join(', ') + ' (:' + e.standardPort + ')') + '</td></tr>').join('');
  const servers = [...new Set(ep.endpoints.map((e) => e.server))];
  const fs = document.getElementById('fault-server');
  if (!fs.options.length) fs.innerHTML = servers.map((s) => '<option>' + esc(s) + '</option>').join('');
  await refreshFaults();
}
async function refreshHealth() {
  const health = await fetch('/health', { headers: token ? { authorization: 'Bearer ' + token } : {} }).then((r) => r.json()).catch(() => ({ servers: [] }));
  const m = health.memory;
  if (m) document.getElementById('memory').textContent = 'Memory: RSS ' + m.rssMb + ' MiB (V8 heap ' + m.heapUsedMb + ' of ' + m.heapTotalMb + ' MiB); in memory: journal ' + m.journalMb + ' MiB, captures ' + m.captureMb + ' MiB';
  return health;
}
async function refreshFaults() {
  const f = await api('/faults');
  document.getElementById('faults').innerHTML = f.faults.length ? f.faults.map((r) =>
    '<li><code>' + esc(JSON.stringify({ match: r.rule.match, fault: r.rule.fault, times: r.rule.times })) + '</code> <span class="muted">(' + esc(r.origin) + ', applied ' + r.applied + ')</span> <button type="button" data-remove="' + esc(r.id) + '">Remove ' + esc(r.id) + '</button></li>').join('') : '<li class="muted">none</li>';
}
async function refreshClock() {
  const c = await api('/clock');
  document.getElementById('clock-lab').textContent = c.labTime;
  document.getElementById('clock-rate').textContent = c.rate;
  document.getElementById('clock-wall').textContent = c.wallTime;
}
let marks = [];
async function refreshScript() {
  const { script } = await api('/script');
  marks = script.fired;
  document.getElementById('script-steps').innerHTML = script.fired.map((f) =>
    '<li>' + esc(f.name || ('step ' + (f.step + 1))) + ' <span class="muted">' + esc(f.at) + '</span></li>').join('');
  document.getElementById('script-next').textContent = script.steps === 0 ? 'The scenario has no script.'
    : script.next === undefined ? 'Done.' : 'Step ' + (script.next + 1) + ' of ' + script.steps + ' waiting' + (script.paused ? ' (paused).' : '.');
}
async function refreshRegistrations() {
  const r = await api('/sip/registrations').catch(() => ({ registrations: [] }));
  document.getElementById('registrations').innerHTML = r.registrations.length
    ? '<tr><th>User</th><th>Contact</th><th>From</th><th>Since (lab)</th><th>Until (lab)</th><th>Refreshed</th></tr>' +
      r.registrations.map((g) => '<tr><td>' + esc(g.user) + '</td><td>' + esc(g.contact) + '</td><td>' + esc(g.peer) + '</td><td>' + esc(g.since) + '</td><td>' + esc(g.until) + '</td><td>' + g.refreshed + '</td></tr>').join('')
    : '<tr><td class="muted">nobody is registered</td></tr>';
}
async function refreshTraining() {
  let tr;
  try { tr = await api('/training'); } catch { return; }
  document.getElementById('training').hidden = false;
  document.getElementById('training-pack').textContent = tr.pack.name + ' — ' + tr.pack.exercises.length + ' exercises';
  const ex = Object.fromEntries(tr.pack.exercises.map((e) => [e.id, e]));
  document.getElementById('trainees').innerHTML = tr.trainees.length
    ? '<tr><th>Trainee</th><th>Phone</th><th>Now</th><th>Done</th><th>Their page</th><th>Report</th></tr>' + tr.trainees.map((t) =>
      '<tr><td>' + esc(t.name) + '</td><td>' + esc(t.device) + '</td><td>' + esc(t.current ? ex[t.current].title : '—') + '</td><td>' +
      esc(t.report.filter((r) => r.answer !== null).map((r) => (r.correct ? '✓ ' : '✗ ') + r.exercise).join(', ') || '—') + '</td><td><a class="trainee-link" data-trainee="' + esc(t.id) + '" href="' + esc(t.url) + '">' + esc(location.origin + '/trainee') + '</a></td>' +
      '<td><button type="button" data-download="/training/trainees/' + esc(t.id) + '/report?format=html">HTML</button></td></tr>').join('')
    : '<tr><td class="muted">No trainee yet: add one, with the MAC of their phone.</td></tr>';
  const at = document.getElementById('assign-trainee');
  const chosen = at.value;
  at.innerHTML = tr.trainees.map((t) => '<option value="' + esc(t.id) + '"' + (t.id === chosen ? ' selected' : '') + '>' + esc(t.name) + '</option>').join('');
  const ae = document.getElementById('assign-exercise');
  if (!ae.options.length) ae.innerHTML = '<option value="">drawn at random</option>' + tr.pack.exercises.map((e) => '<option value="' + esc(e.id) + '">' + esc(e.title) + '</option>').join('');
}
async function download(path) {
  const res = await fetch(path, { headers: token ? { authorization: 'Bearer ' + token } : {} });
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error || res.status);
  const name = (res.headers.get('content-disposition') || '').match(/filename="([^"]+)"/)?.[1] || 'download';
  const a = document.createElement('a');
  a.href = URL.createObjectURL(await res.blob());
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  return { name, res };
}
async function refreshTimeline() {
  refreshTraining().catch(() => undefined);
  refreshClock().catch(() => undefined);
  await refreshScript().catch(() => undefined);
  refreshRegistrations().catch(() => undefined);
  const t = await api('/timeline');
  const lanes = document.getElementById('lanes');
  if (!t.devices.length) return;
  document.getElementById('known-macs').innerHTML = t.devices.flatMap((d) => d.macs).map((m) => '<option value="' + esc(m) + '">').join('');
  const gd = document.getElementById('golden-device');
  const chosen = gd.value;
  gd.innerHTML = t.devices.map((d) => '<option value="' + esc(d.key) + '"' + (d.key === chosen ? ' selected' : '') + '>' + esc(d.macs[0] || d.key) + '</option>').join('');
  lanes.innerHTML = t.devices.map((d) => {
    const cells = STAGES.map((s) => {
      const st = d.stages[s];
      const id = d.key + '|' + s;
      return '<button type="button" class="stage ' + (st ? st.last : '') + '" data-open="' + esc(id) + '" aria-expanded="' + open.has(id) + '"' + (st ? '' : ' disabled') + '>' +
        esc(s) + '<br>' + (st ? (st.last === 'ok' ? '✓ ' : '✗ ') + st.count : '—') + '</button>';
    }).join('');
    const captureOf = d.macs[0] || d.ips[0];
    const captureButton = (stage) => captureOf ? ' <button type="button" data-capture="' + esc(captureOf) + '"' + (stage ? ' data-stage="' + esc(stage) + '"' : '') + '>Capture ' + (stage ? 'of ' + esc(stage) + ' ' : '') + '(pcapng)</button>' : '';
    const panels = STAGES.filter((s) => open.has(d.key + '|' + s)).map((s) => '<div><b>' + esc(s) + '</b>' + captureButton(s) +
      d.events.filter((e) => e.stage === s).map((e) => '<details><summary><span class="' + (e.ok ? 'ok-mark">✓' : 'bad-mark">✗') + '</span> #' + e.seq + ' ' + esc(e.time.slice(11, 23)) + ' ' + esc(e.summary) + '</summary><pre>' + esc(JSON.stringify(e.detail, null, 2)) + '</pre></details>').join('') + '</div>').join('');
    const since = d.events.length ? d.events[0].time : d.lastTime;
    const laneMarks = marks.filter((m) => m.at >= since);
    const markLine = laneMarks.length ? '<p class="marks">Script marks: ' + laneMarks.map((m) => '<span class="mark">⚑ ' + esc(m.name || ('step ' + (m.step + 1))) + ' ' + esc(m.at.slice(11, 19)) + '</span>').join(' ') + '</p>' : '';
    return '<article class="lane" data-device="' + esc(d.key) + '"><h3>' + esc([d.macs.join(', '), d.ips.join(', '), d.users.join(', ')].filter(Boolean).join(' · ')) + '</h3>' +
      '<p>Screen: <span class="screen">' + esc(d.screen) + '</span>' + (d.alert ? ' — <span class="alert" role="alert">' + esc(d.alert) + '</span>' : '') +
      ' · <a href="/timeline/' + encodeURIComponent(d.key) + '">JSON</a> · <a href="/timeline/' + encodeURIComponent(d.key) + '?format=html" download>HTML for a bug report</a>' + captureButton() + '</p>' +
      (d.macs.length ? '<p>' + ['reboot', 'power-cycle', 'hard-reset'].map((c) => '<button type="button" data-command="' + c + '" data-mac="' + esc(d.macs[0]) + '">' + c + ' ' + esc(d.macs[0]) + '</button>').join(' ') + ' <span class="muted">(an emulated phone living with --live takes it)</span></p>' : '') +
      markLine + '<div class="stages" role="group" aria-label="stages">' + cells + '</div>' + panels + '</article>';
  }).join('');
}
let pending = false;
function soon() {
  if (pending) return;
  pending = true;
  setTimeout(() => { pending = false; refreshTimeline().catch(() => undefined); }, 200);
}
document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button');
  if (!b) return;
  if (b.dataset.open) {
    open.has(b.dataset.open) ? open.delete(b.dataset.open) : open.add(b.dataset.open);
    await refreshTimeline();
    document.querySelector('[data-open="' + CSS.escape(b.dataset.open) + '"]')?.focus();
  }
  if (b.dataset.command) {
    await api('/phones/' + encodeURIComponent(b.dataset.mac) + '/' + b.dataset.command, { method: 'POST' });
    document.getElementById('live').textContent = b.dataset.command + ' left for ' + b.dataset.mac;
  }
  if (b.dataset.capture) {
    const msg = document.getElementById('capture-msg');
    const stage = b.dataset.stage;
    const path = '/capture/' + encodeURIComponent(b.dataset.capture) + (stage ? '?stage=' + encodeURIComponent(stage) : '');
    try {
      const { name, res } = await download(path);
      msg.textContent = 'Saved ' + name + ' (' + res.headers.get('x-capture-frames') + ' frames; open it in Wireshark).';
    } catch (e) { msg.textContent = 'No capture: ' + e.message; }
  }
  if (b.dataset.download) {
    try { await download(b.dataset.download); } catch (e) { document.getElementById('training-msg').textContent = 'No report: ' + e.message; }
  }
  if (b.dataset.remove) {
    await api('/faults/' + encodeURIComponent(b.dataset.remove), { method: 'DELETE' });
    await refreshFaults();
  }
});
document.getElementById('trainee-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const msg = document.getElementById('training-msg');
  try {
    const t = await api('/training/trainees', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: f.get('name'), device: f.get('device') }) });
    msg.textContent = 'Added ' + t.name + ' on ' + t.device + '. Give them the link in the table.';
    ev.target.reset();
  } catch (e) { msg.textContent = 'Refused: ' + e.message; }
  await refreshTraining();
});
document.getElementById('assign-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const id = document.getElementById('assign-trainee').value;
  const exercise = document.getElementById('assign-exercise').value;
  const msg = document.getElementById('training-msg');
  try {
    const r = await api('/training/trainees/' + encodeURIComponent(id) + '/assign', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(exercise ? { exercise } : {}) });
    msg.textContent = 'Assigned ' + r.exercise + ' to ' + id + '.';
  } catch (e) { msg.textContent = 'Refused: ' + e.message; }
  await refreshTraining();
});
document.getElementById('golden-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = document.getElementById('golden-result');
  const file = document.getElementById('golden-file').files[0];
  if (!file) { out.textContent = 'Choose a golden timeline file (cx700-lab timeline export).'; return; }
  try {
    const golden = JSON.parse(await file.text());
    const key = document.getElementById('golden-device').value;
    const tolerance = document.getElementById('golden-tolerance').value || '2s';
    const r = await api('/timeline/' + encodeURIComponent(key) + '/diff', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ golden, tolerance }) });
    out.innerHTML = r.differences.length
      ? '<p>' + esc(r.device) + ' differs from ' + esc(file.name) + ' (' + esc(r.against) + '):</p><ul id="golden-differences">' + r.differences.map((d) => '<li><b>' + esc(d.stage) + '</b> ' + esc(d.what) + ': ' + esc(d.detail) + '</li>').join('') + '</ul>'
      : '<p>' + esc(r.device) + ' booted as ' + esc(file.name) + ' did (within ' + esc(tolerance) + ').</p>';
  } catch (e) { out.textContent = 'Refused: ' + e.message; }
});
document.getElementById('fault-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const fault = { kind: f.get('kind') };
  if (f.get('code')) fault.code = f.get('code');
  if (f.get('ms')) fault.ms = Number(f.get('ms'));
  if (f.get('set')) fault.set = Object.fromEntries(String(f.get('set')).split(',').map((kv) => kv.split('=')).map(([k, v]) => [k.trim(), /^-?\\d+$/.test(v) ? Number(v) : v]));
  const match = { server: f.get('server') };
  if (f.get('field')) match.fields = Object.fromEntries([String(f.get('field')).split('=')]);
  const rule = { match, fault };
  if (f.get('times')) rule.times = Number(f.get('times'));
  const msg = document.getElementById('fault-msg');
  try { const r = await api('/faults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule) }); msg.textContent = 'Added fault ' + r.id + '.'; }
  catch (e) { msg.textContent = 'Refused: ' + e.message; }
  await refreshFaults();
});
document.querySelectorAll('[data-script]').forEach((b) => b.addEventListener('click', async () => {
  try { await api('/script/' + b.dataset.script, { method: 'POST' }); } catch (e) { /* no script: nothing to do */ }
  await refreshScript();
}));
document.getElementById('clock-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const change = {};
  if (f.get('rate')) change.rate = Number(f.get('rate'));
  if (f.get('advance')) change.advance = String(f.get('advance'));
  const msg = document.getElementById('clock-msg');
  try { await api('/clock', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(change) }); msg.textContent = 'Clock changed.'; }
  catch (e) { msg.textContent = 'Refused: ' + e.message; }
  await refreshClock();
});
document.getElementById('scenario-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const path = document.getElementById('scenario-select').value;
  const msg = document.getElementById('scenario-msg');
  try { await api('/scenario', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path }) }); msg.textContent = 'Loaded ' + path + '.'; }
  catch (e) { msg.textContent = 'Refused: ' + e.message; }
  await refreshStatic();
});
async function follow() {
  const live = document.getElementById('live');
  if (!token && window.EventSource) {
    // Server-sent events (a token cannot ride on EventSource: with one, the stream below is used).
    const es = new EventSource('/journal/events');
    es.onopen = () => { live.textContent = 'live'; };
    es.onmessage = () => soon();
    es.onerror = () => { live.textContent = 'reconnecting…'; };
    return;
  }
  for (;;) {
    try {
      const res = await fetch('/journal?follow=1&limit=1', { headers: token ? { authorization: 'Bearer ' + token } : {} });
      live.textContent = 'live';
      const reader = res.body.getReader();
      for (;;) { const { done } = await reader.read(); if (done) break; soon(); }
    } catch { /* reconnect */ }
    live.textContent = 'reconnecting…';
    await new Promise((r) => setTimeout(r, 1000));
  }
}
refreshStatic().then(refreshTimeline).catch((e) => { document.getElementById('live').textContent = 'error: ' + e.message; });
follow();
setInterval(() => { refreshTimeline().catch(() => undefined); refreshHealth().catch(() => undefined); }, 10000);
</script>
</body></html>`
}
