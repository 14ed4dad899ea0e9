import type { JournalEvent } from '../../core/journal/journal.js'
import { BOOT_STAGES, type BootStage, type StagedEvent } from '../../core/journal/events.js'
import { classify } from '../classify.js'
import { phoneScreen } from './screen.js'

export { classify } from '../classify.js'

/**
 * Every phone's boot as one timeline across protocols, from the journal, pure: events grouped by device (a
 * MAC, IP or user seen together on any event joins them into one device), each placed in the stage of the
 * sign-in it belongs to, with the status line the phone is presumably showing, loops (back to the DC
 * after reaching the pool) and stalls (silence after a stage that is not the end).
 */

export const STAGES = BOOT_STAGES
export type Stage = BootStage

export type TimelineEvent = StagedEvent

export interface StageState {
  readonly count: number
  readonly failed: number
  /** ok: the last event of the stage went well; failed: it did not. */
  readonly last: 'ok' | 'failed'
}

export interface DeviceTimeline {
  /** A stable key: mac:…, user:… or ip:…. */
  readonly key: string
  readonly macs: readonly string[]
  readonly ips: readonly string[]
  readonly users: readonly string[]
  readonly events: readonly TimelineEvent[]
  readonly stages: Partial<Record<Stage, StageState>>
  /** The status line the phone presumably shows. */
  readonly screen: string
  /** How many times it went back to the DC after reaching the pool. */
  readonly loops: number
  /** A loop or a stall, in words; undefined when neither. */
  readonly alert?: string
  readonly lastTime: string
}

/**
 * Keys seen together join one device, except that two devices with MACs of their own never join: several
 * phones signing in as one user (or sharing an address over time) stay one lane each.
 */
class Groups {
  readonly #parent = new Map<string, string>()
  /** The MAC of each group's root, once it has one. */
  readonly #mac = new Map<string, string>()
  find(k: string): string {
    let p = this.#parent.get(k) ?? k
    if (p !== k) {
      p = this.find(p)
      this.#parent.set(k, p)
    }
    return p
  }
  union(a: string, b: string): void {
    const ra = this.find(a)
    const rb = this.find(b)
    if (ra === rb) return
    const ma = this.#mac.get(ra)
    const mb = this.#mac.get(rb)
    if (ma !== undefined && mb !== undefined && ma !== mb) return
    this.#parent.set(rb, ra)
    if (ma === undefined && mb !== undefined) this.#mac.set(ra, mb)
  }
  add(k: string): void {
    if (this.#parent.has(k)) return
    this.#parent.set(k, k)
    if (k.startsWith('mac:')) this.#mac.set(k, k)
  }
}

/** An event's device keys, the most specific first (it places the event): MAC, then address, then user. */
function keysOf(e: JournalEvent): string[] {
  const keys: string[] = []
  if (e.device?.mac) keys.push(`mac:${e.device.mac}`)
  if (e.device?.ip && e.device.ip !== '?') keys.push(`ip:${e.device.ip}`)
  if (e.device?.user) keys.push(`user:${e.device.user}`)
  // A DHCP request comes from the device itself: its source address is the device's (on loopback: 127.0.0.1).
  const peer = e.peer?.address
  if (e.kind === 'dhcp:request' && peer && peer !== '0.0.0.0' && peer !== '?') keys.push(`ip:${peer}`)
  if (keys.length === 0 && peer && peer !== '?' && peer !== '0.0.0.0') keys.push(`ip:${peer}`)
  return keys
}

const STALL_MS = 60_000

/** A device's events, every key (MAC, user, IP) it was seen under, and the reboots it was told to do. */
interface DeviceGroup {
  readonly events: TimelineEvent[]
  readonly keys: Set<string>
  /** The seqs of the reboots, power-cycles and hard resets the lab asked of it (never a loop). */
  readonly commanded: number[]
}

/** The events each device's server classifies, grouped by device: keys seen together join one device. */
function groupByDevice(events: readonly JournalEvent[]): DeviceGroup[] {
  const groups = new Groups()
  const placed: { e: JournalEvent; stage: Stage; ok: boolean; keys: string[] }[] = []
  const commands: { mac: string; seq: number }[] = []
  for (const e of events) {
    if (e.kind === 'lab:phone-command' && e.device?.mac) commands.push({ mac: e.device.mac, seq: e.seq })
    const c = classify(e)
    if (!c) continue
    const keys = keysOf(e)
    if (keys.length === 0) continue
    for (const k of keys) groups.add(k)
    for (const k of keys.slice(1)) groups.union(keys[0]!, k)
    placed.push({ e, stage: c.stage, ok: c.ok, keys })
  }
  const byRoot = new Map<string, DeviceGroup>()
  for (const { e, stage, ok, keys } of placed) {
    const root = groups.find(keys[0]!)
    let g = byRoot.get(root)
    if (!g) {
      g = { events: [], keys: new Set(), commanded: [] }
      byRoot.set(root, g)
    }
    for (const k of keys) g.keys.add(k)
    const { seq, server, time, kind, summary, detail } = e
    g.events.push({ seq, server, time, stage, kind, summary, ok, detail })
  }
  for (const { mac, seq } of commands) byRoot.get(groups.find(`mac:${mac}`))?.commanded.push(seq)
  return [...byRoot.values()]
}

/**
 * Each stage's count, failures and last outcome, and how often the phone went back from the pool to the DC
 * by itself: a boot after a reboot the lab asked for (`commanded`, seqs in order) starts afresh.
 */
function stagesOf(
  events: readonly TimelineEvent[],
  commanded: readonly number[] = [],
): {
  stages: Partial<Record<Stage, StageState>>
  loops: number
} {
  const stages: Partial<Record<Stage, StageState>> = {}
  let loops = 0
  let reachedPool = false
  let next = 0
  for (const ev of events) {
    for (; next < commanded.length && commanded[next]! < ev.seq; next++) reachedPool = false
    const s = stages[ev.stage]
    stages[ev.stage] = {
      count: (s?.count ?? 0) + 1,
      failed: (s?.failed ?? 0) + (ev.ok ? 0 : 1),
      last: ev.ok ? 'ok' : 'failed',
    }
    if (ev.stage === 'SIP') reachedPool = true
    if (ev.stage === 'DC/LDAP' && reachedPool) {
      loops++
      reachedPool = false
    }
  }
  return { stages, loops }
}

const ordinal = (n: number): string => `${n}${n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'}`

/** What the dashboard flags: a sign-in loop, or a phone silent for a minute short of signed in. */
function alertOf(loops: number, screen: string, last: TimelineEvent, now: number): string | undefined {
  if (loops > 0) return `cycling Locating Domain Controller → Connecting, ${ordinal(loops + 1)} time`
  const silentMs = now - Date.parse(last.time)
  if (screen === 'Signed in' || silentMs <= STALL_MS) return undefined
  return `no request for ${Math.round(silentMs / 1000)} s after ${screen === 'Starting' ? last.stage : screen}`
}

function deviceTimeline(g: DeviceGroup, now: number): DeviceTimeline {
  const list = (prefix: string): string[] =>
    [...g.keys]
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length))
      .sort()
  const macs = list('mac:')
  const users = list('user:')
  const ips = list('ip:')
  const { stages, loops } = stagesOf(g.events, g.commanded)
  const last = g.events.at(-1)!
  const screen = phoneScreen(g.events)
  const alert = alertOf(loops, screen, last, now)
  return {
    key: macs[0] ? `mac:${macs[0]}` : users[0] ? `user:${users[0]}` : `ip:${ips[0] ?? '?'}`,
    macs,
    ips,
    users,
    events: g.events,
    stages,
    screen,
    loops,
    ...(alert ? { alert } : {}),
    lastTime: last.time,
  }
}

/** Builds every device's timeline from journal events (oldest first), as of `now`. */
export function buildTimelines(events: readonly JournalEvent[], now: number): DeviceTimeline[] {
  return groupByDevice(events)
    .map((g) => deviceTimeline(g, now))
    .sort((a, b) => b.lastTime.localeCompare(a.lastTime))
}

/** One device's events in a journal (a MAC, IP or user of it), with the lab's own events beside them. */
export function deviceEvents(
  events: readonly JournalEvent[],
  mac: string,
): { timeline: DeviceTimeline; events: JournalEvent[] } | undefined {
  const timeline = buildTimelines(events, Date.now()).find((d) => d.macs.includes(mac.toLowerCase()))
  if (!timeline) return undefined
  const seqs = new Set(timeline.events.map((e) => e.seq))
  return { timeline, events: events.filter((e) => seqs.has(e.seq) || e.server === 'lab') }
}
