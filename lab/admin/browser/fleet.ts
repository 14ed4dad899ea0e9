import { $, apiWith, esc, pageToken } from './api.js'
import type { FleetRow } from './wire.js'

/*
 * The fleet view's script: every lab the fleet file names, read by the fleet server through each lab's admin
 * API (the labs' tokens stay on the server; this page holds only the fleet view's own, from #token=…).
 */

const api = apiWith(pageToken(true))
/** How often the view asks again. */
const EVERY_MS = 5_000

function phonesCell(row: FleetRow): string {
  const signed = row.phones.filter((p) => p.signedIn).length
  const list = row.phones
    .map(
      (p) => `<li>${esc(p.key)}: ${esc(p.screen)}${p.alert ? ` <strong>${esc(p.alert)}</strong>` : ''}</li>`,
    )
    .join('')
  return `${signed} of ${row.phones.length} signed in${list ? `<ul>${list}</ul>` : ''}`
}

function rowHtml(row: FleetRow): string {
  const health = !row.reachable ? 'unreachable' : row.healthy === true ? 'healthy' : 'unhealthy'
  const faults = row.faults.length === 0 ? 'none' : row.faults.map(esc).join('<br>')
  return `<tr data-lab="${esc(row.name)}"><th scope="row"><a href="${esc(row.dashboard)}" rel="noreferrer">${esc(row.name)}</a>
<div class="site">${esc(row.site ?? '')}</div></th>
<td>${esc(row.scenario ?? '—')}<div class="site">${esc(row.domain ?? '')}</div></td>
<td class="phones">${row.reachable ? phonesCell(row) : '—'}</td><td class="faults">${row.reachable ? faults : '—'}</td>
<td class="${health}">${health}${row.error !== undefined ? `<div class="site">${esc(row.error)}</div>` : ''}</td></tr>`
}

async function refresh(): Promise<void> {
  try {
    const { labs } = await api<{ labs: FleetRow[] }>('/fleet')
    $('labs').innerHTML = labs.map(rowHtml).join('')
    $('msg').textContent = `Read ${labs.length} labs at ${new Date().toLocaleTimeString()}.`
  } catch (err) {
    $('msg').textContent = `The fleet view could not be read: ${(err as Error).message}`
  }
}

void refresh()
setInterval(() => void refresh(), EVERY_MS)
