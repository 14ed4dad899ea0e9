import type { BootStage } from '../../core/journal/events.js'
import { SERVER_DEFINITIONS, SERVER_NAMES } from '../../servers/index.js'
import { lastBoot } from './screen.js'
import type { DeviceTimeline, TimelineEvent } from './timeline.js'

/**
 * Golden timelines (issue 22): a phone's boot as a file — per stage, what the phone asked for, in order, and
 * when (ms since the boot began) — so that a boot can be compared with another one: a hardware phone's with
 * last week's, or with the emulator's. Only what the phone asked is kept (the DHCP parameter list, DNS names,
 * the TLS ClientHello, LDAP operations, Kerberos requests, HTTP paths, SIP methods): the servers' answers
 * belong to the scenario, not to the phone.
 */

export interface GoldenRequest {
  /** What the phone asked, normalised so that two boots compare (no transaction IDs, ports or nonces). */
  readonly ask: string
  readonly atMs: number
}

export interface GoldenTimeline {
  readonly version: 1
  readonly device: string
  readonly stages: Partial<Record<BootStage, readonly GoldenRequest[]>>
}

/**
 * What one event says the phone asked, read by the server that journaled it (its definition's `ask`, from
 * the registry): a new server's events join golden diffs by declaring it. Undefined: an answer, or the
 * servers' own bookkeeping.
 */
export function askOf(e: TimelineEvent): string | undefined {
  const name = SERVER_NAMES.find((n) => n === e.server)
  return name === undefined ? undefined : SERVER_DEFINITIONS[name].ask(e)
}

/** A device's last boot as a golden timeline. */
export function goldenOf(t: Pick<DeviceTimeline, 'key' | 'events'>): GoldenTimeline {
  const boot = lastBoot(t.events)
  const t0 = boot[0] ? Date.parse(boot[0].time) : 0
  const stages: Partial<Record<BootStage, GoldenRequest[]>> = {}
  for (const e of boot) {
    const ask = askOf(e)
    if (ask === undefined) continue
    ;(stages[e.stage] ??= []).push({ ask, atMs: Date.parse(e.time) - t0 })
  }
  return { version: 1, device: t.key, stages }
}

export interface GoldenDifference {
  readonly stage: BootStage
  readonly what: 'missing' | 'extra' | 'order' | 'timing'
  readonly detail: string
}

/**
 * Two boots compared stage by stage: requests only in A (missing from B) or only in B (extra), the same
 * requests in another order, and a request whose time since the boot began differs by more than the
 * tolerance.
 */
export function diffGolden(a: GoldenTimeline, b: GoldenTimeline, toleranceMs: number): GoldenDifference[] {
  const out: GoldenDifference[] = []
  const stages = new Set([...Object.keys(a.stages), ...Object.keys(b.stages)] as BootStage[])
  for (const stage of stages) {
    const ra = a.stages[stage] ?? []
    const rb = b.stages[stage] ?? []
    const count = (rs: readonly GoldenRequest[]): Map<string, number> => {
      const m = new Map<string, number>()
      for (const r of rs) m.set(r.ask, (m.get(r.ask) ?? 0) + 1)
      return m
    }
    const ca = count(ra)
    const cb = count(rb)
    for (const [ask, n] of ca) {
      const m = cb.get(ask) ?? 0
      if (m < n) out.push({ stage, what: 'missing', detail: `${ask}${n - m > 1 ? ` (${n - m}×)` : ''}` })
    }
    for (const [ask, n] of cb) {
      const m = ca.get(ask) ?? 0
      if (m < n) out.push({ stage, what: 'extra', detail: `${ask}${n - m > 1 ? ` (${n - m}×)` : ''}` })
    }
    const common = (rs: readonly GoldenRequest[], other: Map<string, number>): string[] =>
      rs.map((r) => r.ask).filter((ask) => other.has(ask))
    const oa = [...new Set(common(ra, cb))]
    const ob = [...new Set(common(rb, ca))]
    if (oa.join('\n') !== ob.join('\n'))
      out.push({ stage, what: 'order', detail: `A: ${oa.join(' → ')}; B: ${ob.join(' → ')}` })
    for (const r of ra) {
      const s = rb.find((x) => x.ask === r.ask)
      if (s && Math.abs(s.atMs - r.atMs) > toleranceMs)
        out.push({ stage, what: 'timing', detail: `${r.ask}: ${r.atMs} ms in A, ${s.atMs} ms in B` })
    }
  }
  return out
}

/** A golden timeline read back (from a file, a request body); throws with what is wrong with it. */
export function asGolden(value: unknown): GoldenTimeline {
  const g = value as Partial<GoldenTimeline> | null
  if (
    g === null ||
    typeof g !== 'object' ||
    g.version !== 1 ||
    typeof g.stages !== 'object' ||
    g.stages === null
  )
    throw new Error('not a golden timeline (version 1, with stages)')
  for (const [stage, requests] of Object.entries(g.stages)) {
    if (
      !Array.isArray(requests) ||
      requests.some((r: Partial<GoldenRequest>) => typeof r?.ask !== 'string' || typeof r.atMs !== 'number')
    )
      throw new Error(`stage ${stage}: each request needs an ask (text) and an atMs (number)`)
  }
  return g as GoldenTimeline
}
