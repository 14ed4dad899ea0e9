import type { Fault, FaultRule } from './types.js'

/** A rule's place: written in the scenario, or added through the admin API (or a script) while running. */
export type RuleOrigin = 'scenario' | 'runtime'

/**
 * The fault engine's journal events. The rule changes are journaled under the server `faults`; an applied
 * fault under the server whose request it met, beside that server's own event of the request.
 */
export interface FaultEvents {
  readonly 'fault:added': { readonly id: string; readonly rule: FaultRule }
  readonly 'fault:removed': { readonly id: string }
  readonly 'fault:cleared': { readonly count: number }
  readonly 'fault:applied': FaultAppliedDetail
}

/** A fault applied to one request: the rule, where it came from, the fault itself (not only its kind), how often it has applied. */
export interface FaultAppliedDetail {
  readonly ruleId: string
  readonly origin: RuleOrigin
  readonly fault: Fault
  readonly applied: number
}
