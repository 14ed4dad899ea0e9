import { SERVER_NAMES } from '../../servers/index.js'
import { askOf } from './golden.js'
import { lastBoot } from './screen.js'
import type { DeviceTimeline, Stage, TimelineEvent } from './timeline.js'
import { esc } from './html.js'

/**
 * A boot as a ladder diagram (Wireshark's flow graph, sngrep's call flow): the phone and each server it talked
 * to as columns, one row per exchange in time order — the request as an arrow to the server, the answer as an
 * arrow back, a failure in red, a fault the lab applied marked ⚡ — as a self-contained SVG, pure. The
 * dashboard shows it per phone and per stage, the HTML bug report embeds it, the CLI writes it to a file.
 */

const COLUMN = 150
const ROW = 34
const TOP = 46
const LEFT = 120
const LABEL = 46

/** A label that fits between two columns (full text in the row's title). */
const fit = (s: string, max = LABEL): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s)

/** The request and the answer of one journal event: its summary's two sides of ` → `, when it has them. */
export function exchangeOf(e: Pick<TimelineEvent, 'summary'>): { ask: string; answer: string | undefined } {
  const at = e.summary.indexOf(' → ')
  return at < 0
    ? { ask: e.summary, answer: undefined }
    : { ask: e.summary.slice(0, at), answer: e.summary.slice(at + 3) }
}

/** Whether the lab applied a fault to this exchange (the servers mark it in the detail). */
const faulted = (e: TimelineEvent): boolean => e.detail.fault !== undefined

export interface LadderOptions {
  /** Only this stage's exchanges. */
  readonly stage?: Stage
  /** Every boot of the device, not just its last. */
  readonly allBoots?: boolean
}

/** The SVG of a device's boot (its last, unless `allBoots`), or of one stage of it. */
export function ladderSvg(t: Pick<DeviceTimeline, 'key' | 'events'>, options: LadderOptions = {}): string {
  const boot = options.allBoots ? t.events : lastBoot(t.events)
  const rows = boot.filter((e) => options.stage === undefined || e.stage === options.stage)
  const servers = SERVER_NAMES.filter((n) => rows.some((e) => e.server === n))
  const x = (column: number): number => LEFT + column * COLUMN
  const width = x(Math.max(servers.length, 1)) + 40
  const height = TOP + rows.length * ROW + 20
  const t0 = rows[0] ? Date.parse(rows[0].time) : 0
  const head = ['phone', ...servers]
    .map(
      (name, i) =>
        `<text x="${x(i)}" y="20" text-anchor="middle" class="col">${esc(i === 0 ? t.key : name)}</text>` +
        `<line x1="${x(i)}" y1="28" x2="${x(i)}" y2="${height - 10}" class="life"/>`,
    )
    .join('')
  const body = rows
    .map((e, i) => rowSvg(e, TOP + i * ROW, x(0), x(servers.findIndex((n) => n === e.server) + 1), t0))
    .join('')
  const title = `Ladder of ${t.key}${options.stage ? `, stage ${options.stage}` : ''}: ${rows.length} exchanges`
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">` +
    `<title>${esc(title)}</title><style>${LADDER_STYLE}</style>` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>` +
    `${head}${body}</svg>`
  )
}

/**
 * One exchange: the request arrow to the server, the answer arrow back (when the server answered). An event
 * that is the server's own message (a DHCP OFFER, an NTP response: nothing the phone asked, by the server's
 * `ask` reader) is one arrow from the server.
 */
function rowSvg(e: TimelineEvent, y: number, phone: number, server: number, t0: number): string {
  const fromServer = askOf(e) === undefined
  const { ask, answer } = fromServer ? { ask: e.summary, answer: undefined } : exchangeOf(e)
  const [from, to] = fromServer ? [server, phone] : [phone, server]
  const cls = `${e.ok ? 'ok' : 'failed'}${faulted(e) ? ' fault' : ''}`
  const mid = (phone + server) / 2
  const at = `+${((Date.parse(e.time) - t0) / 1000).toFixed(2)} s`
  return (
    `<g class="row ${cls}" data-seq="${e.seq}" data-stage="${esc(e.stage)}"><title>${esc(`#${e.seq} ${e.time} ${e.stage}: ${e.summary}`)}</title>` +
    `<text x="4" y="${y + 4}" class="time">${at}</text>` +
    `<line x1="${from}" y1="${y}" x2="${to}" y2="${y}" class="${fromServer ? 'answer' : 'ask'}" marker-end="url(#arrow)"/>` +
    `<text x="${mid}" y="${y - 4}" text-anchor="middle" class="label">${faulted(e) ? '⚡ ' : ''}${esc(fit(ask))}</text>` +
    (answer === undefined
      ? ''
      : `<line x1="${server}" y1="${y + 14}" x2="${phone}" y2="${y + 14}" class="answer" marker-end="url(#arrow)"/>` +
        `<text x="${mid}" y="${y + 11}" text-anchor="middle" class="label answer-label">${esc(fit(answer))}</text>`) +
    '</g>'
  )
}

const LADDER_STYLE =
  '.col{font:600 12px system-ui,sans-serif}.life{stroke:#999;stroke-dasharray:4 3}' +
  '.label,.time{font:11px system-ui,sans-serif}.time{fill:#666}' +
  '.ask,.answer{stroke:#1a7f37;stroke-width:1.4}.answer{stroke-dasharray:5 3}' +
  '.failed .ask,.failed .answer{stroke:#cf222e}.failed .answer-label{fill:#cf222e;font-weight:600}' +
  '.fault .label{fill:#8250df}'
