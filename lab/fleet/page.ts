import { esc } from '../admin/html.js'

/** The fleet view's page: a shell with no data; its script reads GET /fleet with the token it was given. */
export function fleetPage(title: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(title)}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ccc;padding:.4rem .6rem;text-align:left;vertical-align:top}.site{color:#555;font-size:.9em}
.healthy{color:#1a7f37}.unhealthy,.unreachable{color:#cf222e;font-weight:700}ul{margin:.2rem 0;padding-left:1.2rem}
a:focus-visible{outline:3px solid Highlight}</style></head>
<body><main><h1>${esc(title)}</h1>
<table><caption>Every lab this view was told of, read through its admin API</caption>
<thead><tr><th scope="col">Lab</th><th scope="col">Scenario</th><th scope="col">Phones</th><th scope="col">Faults in force</th><th scope="col">Health</th></tr></thead>
<tbody id="labs"></tbody></table><p id="msg" role="status">Reading the labs…</p></main>
<script type="module" src="/assets/fleet.js"></script></body></html>`
}
