import type { Random } from '../random.js'
import { corruptBytes, garbageBytes } from './bytes.js'
import type { Fault } from './types.js'

/** The kinds a server maps onto its own protocol: its error answer, and a wrong but well-formed answer. */
export type ProtocolFault = Extract<Fault, { kind: 'error' | 'answer' }>

/**
 * Where a fault takes effect. The one place that knows what each stream and datagram fault does (house-style
 * §3: faults at fixed hook points); a server supplies only what is its own — which kinds it honours (its
 * FaultCapabilities) and what `error` and `answer` mean in its protocol — and acts at the hook the plan names:
 * - `silence`: no answer at all (`drop`; `reset` where there is no connection to reset);
 * - `connection`: on the connection instead of an answer (`reset` destroys it; `garbage` sends random bytes);
 * - `behaviour`: the behaviour answers — after `delayMs`, with the protocol fault if any — and `onEncoded`
 *   applies to the encoded answer (`corrupt`, `truncate`).
 */
export type FaultPlan =
  | { readonly hook: 'silence'; readonly kind: 'drop' | 'reset' }
  | { readonly hook: 'connection'; readonly kind: 'reset' }
  | { readonly hook: 'connection'; readonly kind: 'garbage'; readonly bytes: Uint8Array }
  | BehaviourPlan

/** The behaviour answers: late, with the protocol's fault, and the encoded answer altered. */
export interface BehaviourPlan {
  readonly hook: 'behaviour'
  readonly delayMs: number
  readonly protocol: ProtocolFault | undefined
  readonly onEncoded: (bytes: Uint8Array) => Uint8Array
  /** True when `onEncoded` changes the bytes (`corrupt`, `truncate`). */
  readonly altersBytes: boolean
  /** The fault in force here, if any (for the journal). */
  readonly fault: Fault | undefined
}

export interface FaultSetting {
  /** `udp`: no connection, so `reset` is silence. */
  readonly transport: 'udp' | 'tcp'
  readonly random: Random
  /** How many random bytes `garbage` sends when the rule does not say. */
  readonly garbageLength: number
}

const unchanged = (bytes: Uint8Array): Uint8Array => bytes

/** What the behaviour does when no fault applies. */
export const NO_FAULT: BehaviourPlan = {
  hook: 'behaviour',
  delayMs: 0,
  protocol: undefined,
  onEncoded: unchanged,
  altersBytes: false,
  fault: undefined,
}

/** Milliseconds a `delay` fault waits: its `ms` plus a seeded draw of up to `jitterMs`. */
export function delayOf(fault: Extract<Fault, { kind: 'delay' }>, random: Random): number {
  return fault.ms + (fault.jitterMs ? Math.floor(random() * fault.jitterMs) : 0)
}

/** Decides, for every server alike, where a fault takes effect. */
export function planFault(fault: Fault | undefined, setting: FaultSetting): FaultPlan {
  if (fault === undefined) return NO_FAULT
  const { random } = setting
  const behaviour = (changes: Partial<BehaviourPlan>): BehaviourPlan => ({
    ...NO_FAULT,
    fault,
    ...changes,
  })
  switch (fault.kind) {
    case 'drop':
      return { hook: 'silence', kind: 'drop' }
    case 'reset':
      return setting.transport === 'udp'
        ? { hook: 'silence', kind: 'reset' }
        : { hook: 'connection', kind: 'reset' }
    case 'garbage':
      return {
        hook: 'connection',
        kind: 'garbage',
        bytes: garbageBytes(fault.bytes ?? setting.garbageLength, random),
      }
    case 'delay':
      return behaviour({ delayMs: delayOf(fault, random) })
    case 'corrupt':
      return behaviour({
        onEncoded: (bytes) => corruptBytes(bytes, fault.bytes ?? 1, random),
        altersBytes: true,
      })
    case 'truncate':
      return behaviour({ onEncoded: (bytes) => bytes.slice(0, fault.bytes), altersBytes: true })
    case 'error':
    case 'answer':
      return behaviour({ protocol: fault })
  }
}

/** Waits a plan's delay (resolves at once when there is none). */
export function waitFor(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()
}

/** A fault in words, for the journal and the CLI. */
export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'drop':
    case 'reset':
      return f.kind
    case 'delay':
      return `delay ${f.ms} ms${f.jitterMs ? ` ±${f.jitterMs}` : ''}`
    case 'garbage':
    case 'corrupt':
      return `${f.kind}${f.bytes !== undefined ? ` ${f.bytes} bytes` : ''}`
    case 'truncate':
      return `truncate to ${f.bytes} bytes`
    case 'error':
      return `error ${f.code}`
    case 'answer':
      return `wrong answer ${JSON.stringify(f.set)}`
  }
}
