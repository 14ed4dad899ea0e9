import { validatorFor } from '../schema/ajv.js'
import type { Journal, Peer } from '../journal/journal.js'
import type { DeviceRef } from '../journal/devices.js'
import { LabError } from '../errors.js'
import type { Random } from '../random.js'
import { describeFault } from './apply.js'
import type { Fault, FaultCapabilities, FaultRule, Matcher } from './types.js'
import type { FaultEvents, RuleOrigin } from './events.js'
import { eventInput, type EventWrite } from '../journal/events.js'

/** What a server knows of one request when it asks the engine whether to misbehave. */
export interface FaultContext {
  readonly server: string
  readonly peer: Peer
  readonly device?: DeviceRef
  readonly fields?: Readonly<Record<string, string | number | boolean>>
}

export interface AppliedFault {
  readonly ruleId: string
  readonly fault: Fault
}

export interface RuleStatus {
  readonly id: string
  readonly origin: RuleOrigin
  readonly rule: FaultRule
  /** Requests that matched the rule's `match`. */
  readonly matched: number
  /** Times the fault was applied. */
  readonly applied: number
}

interface LiveRule {
  id: string
  origin: RuleOrigin
  rule: FaultRule
  matched: number
  applied: number
}

function ipv4ToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
}

/** An IPv4 address or CIDR block matches `ip`; anything else compares as text. */
export function peerMatches(pattern: string, ip: string): boolean {
  const [base, bitsText] = pattern.split('/')
  if (bitsText === undefined) return pattern === ip || pattern === ip.replace(/^::ffff:/, '')
  const bits = Number(bitsText)
  const a = ipv4ToInt(base ?? '')
  const b = ipv4ToInt(ip.replace(/^::ffff:/, ''))
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return (a & mask) >>> 0 === (b & mask) >>> 0
}

function wildcard(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern.toLowerCase() === value.toLowerCase()
  const re = new RegExp(
    '^' +
      pattern
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
    'i',
  )
  return re.test(value)
}

export function ruleMatches(match: Matcher | undefined, ctx: FaultContext): boolean {
  if (!match) return true
  if (match.server !== undefined && match.server !== ctx.server) return false
  if (match.peer !== undefined && !peerMatches(match.peer, ctx.peer.address)) return false
  if (match.device !== undefined) {
    const d = match.device.toLowerCase()
    const dev = ctx.device
    const hit =
      dev?.mac?.toLowerCase() === d ||
      dev?.user?.toLowerCase() === d ||
      (dev?.ip ?? ctx.peer.address) === match.device
    if (!hit) return false
  }
  if (match.fields) {
    for (const [k, want] of Object.entries(match.fields)) {
      const have = ctx.fields?.[k]
      if (have === undefined) return false
      if (typeof want === 'string' ? !wildcard(want, String(have)) : want !== have) return false
    }
  }
  return true
}

/**
 * Checks a rule against what its server understands; returns problems as `path: message` pairs.
 * `servers` maps each known server to its capabilities.
 */
export function checkRule(
  rule: FaultRule,
  servers: ReadonlyMap<string, FaultCapabilities>,
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = []
  const names = [...servers.keys()]
  const target = rule.match?.server
  if (target !== undefined && !servers.has(target)) {
    problems.push({
      path: '/match/server',
      message: `unknown server "${target}" (known: ${names.join(', ')})`,
    })
    return problems
  }
  const caps = target !== undefined ? [servers.get(target)!] : [...servers.values()]
  const f = rule.fault
  if (!caps.some((c) => c.kinds.includes(f.kind))) {
    const where = target !== undefined ? `server "${target}"` : 'any server'
    const allowed = target !== undefined ? ` (${target} takes: ${servers.get(target)!.kinds.join(', ')})` : ''
    problems.push({ path: '/fault/kind', message: `fault "${f.kind}" does not apply to ${where}${allowed}` })
  }
  if (target !== undefined) {
    const c = servers.get(target)!
    if (f.kind === 'error' && c.errorCodes && !c.errorCodes.includes(f.code)) {
      problems.push({
        path: '/fault/code',
        message: `"${f.code}" is not a ${target} error (use one of: ${c.errorCodes.join(', ')})`,
      })
    }
    if (f.kind === 'answer') {
      for (const [k, v] of Object.entries(f.set)) {
        const schema = c.answerFields?.[k]
        if (schema === undefined) {
          const known = Object.keys(c.answerFields ?? {})
          problems.push({
            path: `/fault/set/${k}`,
            message: `${target} answers have no field "${k}" (fields: ${known.join(', ') || 'none'})`,
          })
        } else if (!validatorFor(schema)(v)) {
          const hint = (schema as { hint?: string }).hint ?? schema.description ?? `a ${String(schema.type)}`
          problems.push({ path: `/fault/set/${k}`, message: `must be ${hint}` })
        }
      }
    }
    if (rule.match?.fields) {
      for (const k of Object.keys(rule.match.fields)) {
        if (!c.matchFields?.includes(k)) {
          problems.push({
            path: `/match/fields/${k}`,
            message: `${target} requests have no field "${k}" (fields: ${(c.matchFields ?? []).join(', ') || 'none'})`,
          })
        }
      }
    }
  } else if (f.kind === 'error' || f.kind === 'answer' || rule.match?.fields) {
    problems.push({
      path: '/match/server',
      message: `a rule with "${f.kind}" or protocol fields must name match.server`,
    })
  }
  return problems
}

/**
 * The fault engine. Rules come from the scenario and from the admin API; runtime rules are consulted first
 * (newest first), then the scenario's in file order. The first rule that matches, is past `after`, has
 * `times` left and wins its seeded `probability` draw is applied and journaled.
 */
export class FaultEngine {
  readonly #journal: Journal
  readonly #random: Random
  #servers: ReadonlyMap<string, FaultCapabilities>
  #scenarioRules: LiveRule[] = []
  #runtimeRules: LiveRule[] = []
  #nextId = 1

  constructor(options: {
    journal: Journal
    random: Random
    servers: ReadonlyMap<string, FaultCapabilities>
  }) {
    this.#journal = options.journal
    this.#random = options.random
    this.#servers = options.servers
  }

  #live(rule: FaultRule, origin: RuleOrigin): LiveRule {
    const id = rule.id ?? `${origin === 'scenario' ? 's' : 'r'}${this.#nextId++}`
    return { id, origin, rule, matched: 0, applied: 0 }
  }

  /** Replaces the scenario's rules (on load and reload); counters start again. */
  setScenarioRules(rules: readonly FaultRule[], servers?: ReadonlyMap<string, FaultCapabilities>): void {
    if (servers) this.#servers = servers
    this.#scenarioRules = rules.map((r) => this.#live(r, 'scenario'))
  }

  /** Adds a runtime rule after checking it; throws LAB_ERR_FAULT_INVALID listing every problem. */
  add(rule: FaultRule): RuleStatus {
    const problems = checkRule(rule, this.#servers)
    if (problems.length > 0) {
      throw Object.assign(
        new LabError(
          'LAB_ERR_FAULT_INVALID',
          `Failed to add fault: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}.`,
        ),
        { problems },
      )
    }
    if (rule.id !== undefined && this.list().some((r) => r.id === rule.id)) {
      throw new LabError(
        'LAB_ERR_FAULT_INVALID',
        `Failed to add fault: id "${rule.id}" is taken. Choose another id.`,
      )
    }
    const live = this.#live(rule, 'runtime')
    this.#runtimeRules.unshift(live)
    this.#record('faults', 'fault:added', {
      summary: `fault ${live.id} added: ${describeFault(rule.fault)}${rule.match?.server ? ` on ${rule.match.server}` : ''}`,
      detail: { id: live.id, rule },
    })
    return { ...live }
  }

  remove(id: string): void {
    const before = this.#runtimeRules.length
    this.#runtimeRules = this.#runtimeRules.filter((r) => r.id !== id)
    if (this.#runtimeRules.length === before) {
      const inScenario = this.#scenarioRules.some((r) => r.id === id)
      throw new LabError(
        'LAB_ERR_FAULT_NOT_FOUND',
        inScenario
          ? `Failed to remove fault ${id}: it comes from the scenario. Edit the scenario and reload it.`
          : `Failed to remove fault ${id}: no such runtime fault. List them with GET /faults.`,
      )
    }
    this.#record('faults', 'fault:removed', {
      summary: `fault ${id} removed`,
      detail: { id },
    })
  }

  /** Removes every runtime rule; returns how many. */
  clear(): number {
    const n = this.#runtimeRules.length
    this.#runtimeRules = []
    this.#record('faults', 'fault:cleared', {
      summary: `${n} runtime fault(s) cleared`,
      detail: { count: n },
    })
    return n
  }

  list(): RuleStatus[] {
    return [...this.#runtimeRules, ...this.#scenarioRules].map((r) => ({ ...r }))
  }

  /** True when no rule exists at all: a server's hot path can skip building a fault context. */
  get idle(): boolean {
    return this.#runtimeRules.length === 0 && this.#scenarioRules.length === 0
  }

  #record<K extends keyof FaultEvents>(server: string, kind: K, event: EventWrite<FaultEvents[K]>): void {
    this.#journal.record(eventInput(server, kind, event))
  }

  #withDevice(ctx: FaultContext): FaultContext {
    const device = this.#journal.devices.resolve(ctx.device, ctx.peer.address)
    return device ? { ...ctx, device } : ctx
  }

  /** Asks whether this request meets a fault; journals and returns the one applied, if any. */
  decide(ctx: FaultContext): AppliedFault | undefined {
    if (this.idle) return undefined
    // A rule for one device (a trainee's phone) matches by what the lab knows of the peer: its MAC, its user.
    let known: FaultContext | undefined
    const withDevice = (): FaultContext => (known ??= this.#withDevice(ctx))
    for (const r of [...this.#runtimeRules, ...this.#scenarioRules]) {
      if (!ruleMatches(r.rule.match, r.rule.match?.device !== undefined ? withDevice() : ctx)) continue
      r.matched++
      if (r.rule.after !== undefined && r.matched <= r.rule.after) continue
      if (r.rule.times !== undefined && r.applied >= r.rule.times) continue
      if (r.rule.probability !== undefined && !(this.#random() < r.rule.probability)) continue
      r.applied++
      this.#record(ctx.server, 'fault:applied', {
        summary: `fault ${r.id} applied: ${describeFault(r.rule.fault)}`,
        detail: { ruleId: r.id, origin: r.origin, fault: r.rule.fault, applied: r.applied },
        peer: ctx.peer,
        ...(ctx.device ? { device: ctx.device } : {}),
      })
      return { ruleId: r.id, fault: r.rule.fault }
    }
    return undefined
  }
}
