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

/**
 * The kind of boot a timeline records: a first boot (a new or hard-reset phone: it fetches the lab's root from
 * AD or /certsrv) or a used phone's (it keeps the root, and skips that bootstrap); and whether it downloaded
 * firmware (once per version). Two boots compare like with like; the one-time steps of one kind are named
 * as such in a diff with the other, not reported as missing.
 */
export interface BootKind {
  readonly kind: 'first' | 'used'
  readonly firmwareDownload: boolean
  /** The firmware the phone said it ran (to the Device Update Service): a boot on another is one after an upgrade. */
  readonly firmware?: string
}

export interface GoldenTimeline {
  readonly version: 1
  readonly device: string
  /** Absent in files exported before boots had kinds. */
  readonly boot?: BootKind
  readonly stages: Partial<Record<BootStage, readonly GoldenRequest[]>>
}

/**
 * What a phone asks once, not on every boot: the trust bootstrap (the search for the CA objects and the
 * enrollment services, /certsrv), and the firmware: the ucupdates-r2 lookup an unconfigured phone makes and
 * the image download with its signature catalog.
 */
export function oneTimeAsk(ask: string): boolean {
  return (
    /^search .*(certificationAuthority|pKIEnrollmentService)/i.test(ask) ||
    /^GET \/certsrv\//i.test(ask) ||
    /^ucupdates-r2\./i.test(ask) ||
    /^GET \S*\.(nbt|cat)$/i.test(ask)
  )
}

/**
 * A boot's kind, from what it asked: a used phone's when it reached the pool without the trust bootstrap; a
 * first boot otherwise (one that stopped before the bootstrap cannot be told apart, and is taken as first).
 */
export function bootKindOf(stages: GoldenTimeline['stages']): BootKind {
  const asks = Object.values(stages).flatMap((rs) => rs.map((r) => r.ask))
  const bootstrap = asks.some(
    (a) => /^search .*certificationAuthority/i.test(a) || /^GET \/certsrv\//i.test(a),
  )
  return {
    kind: !bootstrap && (stages.SIP?.length ?? 0) > 0 ? 'used' : 'first',
    firmwareDownload: asks.some((a) => /^GET \S*\.nbt$/i.test(a)),
  }
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
  const firmware = boot.find((e) => typeof e.detail.firmware === 'string')?.detail.firmware as
    string | undefined
  return {
    version: 1,
    device: t.key,
    boot: { ...bootKindOf(stages), ...(firmware ? { firmware } : {}) },
    stages,
  }
}

export interface GoldenDifference {
  readonly stage: BootStage
  /** `one-time`: a step one kind of boot makes and the other does not (not a failure of either). */
  readonly what: 'missing' | 'extra' | 'order' | 'timing' | 'one-time'
  readonly detail: string
}

const describeBoot = (b: BootKind | undefined): string =>
  b === undefined
    ? 'a boot of unknown kind'
    : `a ${b.kind === 'first' ? 'first' : 'used phone’s'} boot${b.firmware ? ` on ${b.firmware}` : ''}${b.firmwareDownload ? ' with a firmware download' : ''}`

/** Whether two boots are of different kinds, so that their one-time steps are expected to differ. */
function kindsDiffer(a: GoldenTimeline, b: GoldenTimeline): boolean {
  return (
    a.boot !== undefined &&
    b.boot !== undefined &&
    (a.boot.kind !== b.boot.kind ||
      a.boot.firmwareDownload !== b.boot.firmwareDownload ||
      upgraded(a, b) !== undefined)
  )
}

/** The firmware change between two boots, when both say what they ran and it differs (an upgrade, or back). */
function upgraded(a: GoldenTimeline, b: GoldenTimeline): string | undefined {
  const [fa, fb] = [a.boot?.firmware, b.boot?.firmware]
  return fa !== undefined && fb !== undefined && fa !== fb
    ? `A ran ${fa}, B runs ${fb}: B boots after a firmware change`
    : undefined
}

/** Whether a diff found two boots that differ: a one-time step between boots of different kinds does not count. */
export function goldenDiffers(diffs: readonly GoldenDifference[]): boolean {
  return diffs.some((d) => d.what !== 'one-time')
}

/**
 * Two boots compared stage by stage: requests only in A (missing from B) or only in B (extra), the same
 * requests in another order, and a request whose time since the boot began differs by more than the
 * tolerance.
 */
export function diffGolden(a: GoldenTimeline, b: GoldenTimeline, toleranceMs: number): GoldenDifference[] {
  const out: GoldenDifference[] = []
  const oneTime = kindsDiffer(a, b)
  const absent = (stage: BootStage, what: 'missing' | 'extra', ask: string, n: number): GoldenDifference => {
    const times = n > 1 ? ` (${n}×)` : ''
    if (!oneTime || !oneTimeAsk(ask)) return { stage, what, detail: `${ask}${times}` }
    const [has, lacks] = what === 'missing' ? ['A', 'B'] : ['B', 'A']
    const kind = (x: string): string => describeBoot(x === 'A' ? a.boot : b.boot)
    return {
      stage,
      what: 'one-time',
      detail: `${ask}${times}: only ${has} (${kind(has)}; ${lacks} is ${kind(lacks)})`,
    }
  }
  const change = upgraded(a, b)
  if (change !== undefined) out.push({ stage: 'DUS', what: 'one-time', detail: change })
  const stages = new Set([...Object.keys(a.stages), ...Object.keys(b.stages)] as BootStage[])
  for (const stage of stages) {
    let ra = a.stages[stage] ?? []
    let rb = b.stages[stage] ?? []
    if (oneTime && stage === 'DNS') {
      const [pa, pb] = [powerOnLookups(ra), powerOnLookups(rb)]
      out.push(...powerOnDiffs(pa, pb, a, b))
      ;[ra, rb] = [ra.slice(pa.length), rb.slice(pb.length)]
    }
    const count = (rs: readonly GoldenRequest[]): Map<string, number> => {
      const m = new Map<string, number>()
      for (const r of rs) m.set(r.ask, (m.get(r.ask) ?? 0) + 1)
      return m
    }
    const ca = count(ra)
    const cb = count(rb)
    for (const [ask, n] of ca) {
      const m = cb.get(ask) ?? 0
      if (m < n) out.push(absent(stage, 'missing', ask, n - m))
    }
    for (const [ask, n] of cb) {
      const m = ca.get(ask) ?? 0
      if (m < n) out.push(absent(stage, 'extra', ask, n - m))
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

/**
 * The lookups of a boot's power-on update check: those before its first time lookup (§1 steps 2–3). A first
 * boot finds the update service by `ucupdates-r2.<DHCP domain>`, a used phone by the URL it was provisioned
 * with (the pool's name), so between boots of different kinds they differ once, not as a failure.
 */
function powerOnLookups(rs: readonly GoldenRequest[]): readonly GoldenRequest[] {
  const ntp = rs.findIndex((r) => /^(_ntp\._udp\.|time\.windows\.com )/i.test(r.ask))
  return ntp < 0 ? [] : rs.slice(0, ntp)
}

function powerOnDiffs(
  pa: readonly GoldenRequest[],
  pb: readonly GoldenRequest[],
  a: GoldenTimeline,
  b: GoldenTimeline,
): GoldenDifference[] {
  const [sa, sb] = [pa.map((r) => r.ask), pb.map((r) => r.ask)]
  if (sa.join('\n') === sb.join('\n')) return []
  const side = (asks: readonly string[], boot: BootKind | undefined): string =>
    `${asks.length > 0 ? asks.join(' → ') : 'none'} (${describeBoot(boot)})`
  return [
    {
      stage: 'DNS',
      what: 'one-time',
      detail: `the power-on update check's lookups: A ${side(sa, a.boot)}; B ${side(sb, b.boot)}`,
    },
  ]
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
  if (
    g.boot !== undefined &&
    (typeof g.boot !== 'object' ||
      g.boot === null ||
      (g.boot.kind !== 'first' && g.boot.kind !== 'used') ||
      typeof g.boot.firmwareDownload !== 'boolean' ||
      (g.boot.firmware !== undefined && typeof g.boot.firmware !== 'string'))
  )
    throw new Error(
      'boot: a kind (first or used), firmwareDownload (true or false) and a firmware (text), if any',
    )
  for (const [stage, requests] of Object.entries(g.stages)) {
    if (
      !Array.isArray(requests) ||
      requests.some((r: Partial<GoldenRequest>) => typeof r?.ask !== 'string' || typeof r.atMs !== 'number')
    )
      throw new Error(`stage ${stage}: each request needs an ask (text) and an atMs (number)`)
  }
  return g as GoldenTimeline
}
