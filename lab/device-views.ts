import { isDeepStrictEqual } from 'node:util'
import { LabError } from '../core/errors.js'
import type { FaultEngine } from '../core/faults/engine.js'
import type { FaultRule } from '../core/faults/types.js'
import { normalizeMac } from '../core/journal/devices.js'
import { SERVER_NAMES } from '../servers/index.js'
import type { Scenario, ServerName } from './scenario/model.js'

/** What giving one device a scenario of its own changes, and what of it cannot stay on that device. */
export interface DevicePlan {
  /** Servers that give the device a configuration of its own. */
  readonly servers: readonly ServerName[]
  /** The scenario's fault rules the lab's has not: put on the device alone. */
  readonly faults: readonly FaultRule[]
  /**
   * What would change the lab for every device (`pki`, `clock`, `script`, `network`, `servers.<name>` of a
   * server that cannot configure one device apart): empty when the scenario can be confined.
   */
  readonly labWide: readonly string[]
}

/** A running server as device views see it: its slice of a scenario, and whether it can give one device its own. */
export interface ViewTarget {
  readonly name: ServerName
  slice(scenario: Scenario): unknown
  readonly configureDevice?: (mac: string, scenario: Scenario | undefined) => void
}

/**
 * Parts of a scenario that are the same for every device: what no server's slice carries (the PKI, the clock,
 * the script, the network), and what the one Kerberos realm every server authenticates with is made of.
 */
const SHARED = ['network', 'pki', 'clock', 'script', 'site', 'users', 'hosts'] as const

/** What `next`, given to one device on a lab that runs `base`, changes; `targets` are the running servers. */
export function planDeviceView(base: Scenario, next: Scenario, targets: readonly ViewTarget[]): DevicePlan {
  const labWide: string[] = SHARED.filter((key) => !isDeepStrictEqual(base[key], next[key]))
  const servers: ServerName[] = []
  const running = new Map(targets.map((t) => [t.name, t]))
  for (const name of SERVER_NAMES) {
    const target = running.get(name)
    if (
      base.servers[name].enabled !== next.servers[name].enabled ||
      (!target && next.servers[name].enabled)
    ) {
      labWide.push(`servers.${name}`)
      continue
    }
    if (!target || isDeepStrictEqual(target.slice(base), target.slice(next))) continue
    if (target.configureDevice) servers.push(name)
    else labWide.push(`servers.${name}`)
  }
  const faults = next.faults.filter((rule) => !base.faults.some((b) => isDeepStrictEqual(b, rule)))
  return { servers, faults, labWide }
}

export interface View {
  readonly scenario: Scenario
  readonly plan: DevicePlan
  readonly ruleIds: readonly string[]
}

/**
 * Devices that meet a scenario of their own on a lab that runs another (issue 38: each trainee's story on
 * their phone alone): each server its plan names configured for that device, the story's fault rules scoped
 * to it. Only what can be confined is: a scenario that would change the lab for every device is refused.
 */
export class DeviceViews {
  readonly #views = new Map<string, View>()
  readonly #faults: FaultEngine
  readonly #record: (mac: string, view: View | undefined) => void

  constructor(deps: {
    readonly faults: FaultEngine
    readonly record: (mac: string, view: View | undefined) => void
  }) {
    this.#faults = deps.faults
    this.#record = deps.record
  }

  /** The devices with a view and the scenario each meets. */
  list(): readonly { readonly mac: string; readonly scenario: string; readonly plan: DevicePlan }[] {
    return [...this.#views].map(([mac, v]) => ({ mac, scenario: v.scenario.name, plan: v.plan }))
  }

  /** The scenario a device with a view meets. */
  scenarioOf(mac: string): Scenario | undefined {
    return this.#views.get(normalizeMac(mac))?.scenario
  }

  /**
   * Gives `mac` the scenario `next` (or, undefined, takes its own back). Throws LAB_ERR_DEVICE_VIEW naming
   * what would change the lab for every device; nothing changes then.
   */
  set(mac: string, next: Scenario | undefined, base: Scenario, targets: readonly ViewTarget[]): DevicePlan {
    const key = normalizeMac(mac)
    const plan = next ? planDeviceView(base, next, targets) : { servers: [], faults: [], labWide: [] }
    if (next && plan.labWide.length > 0)
      throw new LabError(
        'LAB_ERR_DEVICE_VIEW',
        `${next.name} cannot be confined to ${key}: it changes ${plan.labWide.join(', ')} for every device.`,
      )
    for (const id of this.#views.get(key)?.ruleIds ?? []) this.#removeRule(id)
    for (const t of targets)
      t.configureDevice?.(key, next && plan.servers.includes(t.name) ? next : undefined)
    if (!next) {
      this.#views.delete(key)
      this.#record(key, undefined)
      return plan
    }
    const ruleIds = plan.faults.map((rule, i) => {
      const id = `view-${key.replaceAll(':', '')}-${rule.id ?? i + 1}`
      this.#faults.add({ ...rule, id, match: { ...rule.match, device: key } })
      return id
    })
    const view = { scenario: next, plan, ruleIds }
    this.#views.set(key, view)
    this.#record(key, view)
    return plan
  }

  /** A server started anew (a reload onto other sockets) gets the views it has a part in. */
  applyTo(target: ViewTarget): void {
    for (const [mac, v] of this.#views)
      if (v.plan.servers.includes(target.name)) target.configureDevice?.(mac, v.scenario)
  }

  #removeRule(id: string): void {
    try {
      this.#faults.remove(id)
    } catch {
      // Already gone (an operator cleared the faults): nothing to take off.
    }
  }
}
