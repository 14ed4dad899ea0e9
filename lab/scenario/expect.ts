import type { Static } from '@sinclair/typebox'
import type { JournalEvent } from '../../core/journal/journal.js'
import { classify } from '../classify.js'
import type { ExpectSchema, JournalMatchSchema } from './schema.js'

type Expect = Static<typeof ExpectSchema>
type Match = Static<typeof JournalMatchSchema>

/** What an emulated phone reported, as far as expectations go. */
export interface Outcome {
  readonly endState: string
  readonly status: readonly string[]
  /** The step where it ended, for the message. */
  readonly lastStep?: string | undefined
  /** A living phone's loops (F10, F16), and the firmware it ended on. */
  readonly loops?: number
  readonly firmware?: string
}

/** One way a run differed from the scenario's `expect:` block. */
export interface Divergence {
  readonly what: string
  readonly expected: string
  readonly got: string
}

const describe = (m: Match): string =>
  [
    m.server,
    m.kind,
    m.stage !== undefined ? `stage ${m.stage}` : undefined,
    m.ok !== undefined ? (m.ok ? 'ok' : 'failed') : undefined,
    m.contains !== undefined ? `"${m.contains}"` : undefined,
  ]
    .filter(Boolean)
    .join(' ')

/** Stage and outcome come from the server's classifier; `contains` is the one rule that reads the summary. */
export const matches = (e: JournalEvent, m: Match): boolean => {
  if (m.server !== undefined && e.server !== m.server) return false
  if (m.kind !== undefined && e.kind !== m.kind) return false
  if (m.contains !== undefined && !e.summary.includes(m.contains)) return false
  if (m.stage === undefined && m.ok === undefined) return true
  const c = classify(e)
  return (
    c !== undefined && (m.stage === undefined || c.stage === m.stage) && (m.ok === undefined || c.ok === m.ok)
  )
}

/**
 * Checks a run against a scenario's expectations: the end state, the status lines in order, and the
 * journal rules across protocols. Returns every divergence, the first one first; [] means it passed.
 */
export function checkExpectations(
  expect: Expect,
  outcome: Outcome,
  events: readonly JournalEvent[],
): Divergence[] {
  const out: Divergence[] = []
  if (expect.endState !== undefined && expect.endState !== outcome.endState)
    out.push({
      what: 'end state',
      expected: expect.endState,
      got: `${outcome.endState}${outcome.lastStep ? ` (last step: ${outcome.lastStep})` : ''}`,
    })
  if (expect.status !== undefined && JSON.stringify(expect.status) !== JSON.stringify(outcome.status))
    out.push({
      what: 'status lines',
      expected: expect.status.join(' → '),
      got: outcome.status.join(' → ') || '(none)',
    })
  if (expect.loops !== undefined && (outcome.loops ?? 0) < expect.loops)
    out.push({ what: 'loops', expected: `at least ${expect.loops}`, got: String(outcome.loops ?? 0) })
  if (expect.firmware !== undefined && expect.firmware !== outcome.firmware)
    out.push({ what: 'firmware', expected: expect.firmware, got: outcome.firmware ?? '(unknown)' })
  const first = (m: Match): number => events.findIndex((e) => matches(e, m))
  for (const rule of expect.journal) {
    if ('order' in rule) {
      // `from`: the order is looked for among the events after the first one like it (a script's mark).
      const from = rule.from
      const after = from !== undefined ? first(from) : -1
      if (from !== undefined && after < 0) {
        out.push({ what: 'journal order', expected: `${describe(from)} happens`, got: 'it never happened' })
        continue
      }
      const firstAfter = (m: Match): number => events.findIndex((e, k) => k > after && matches(e, m))
      let previous = -1
      for (const m of rule.order) {
        const at = firstAfter(m)
        if (at < 0) {
          out.push({ what: 'journal order', expected: `${describe(m)} happens`, got: 'it never happened' })
          break
        }
        if (at < previous) {
          out.push({
            what: 'journal order',
            expected: rule.order.map(describe).join(' before '),
            got: `${describe(m)} came first (#${events[at]!.seq}: ${events[at]!.summary})`,
          })
          break
        }
        previous = at
      }
    } else if ('none' in rule) {
      const limit = rule.before ? first(rule.before) : -1
      const scope = limit >= 0 ? events.slice(0, limit) : events
      const hit = scope.find((e) => matches(e, rule.none))
      if (hit)
        out.push({
          what: 'journal',
          expected: `no ${describe(rule.none)}${rule.before ? ` before ${describe(rule.before)}` : ''}`,
          got: `#${hit.seq}: ${hit.summary}`,
        })
    } else if ('count' in rule) {
      const n = events.filter((e) => matches(e, rule.count)).length
      if ((rule.min !== undefined && n < rule.min) || (rule.max !== undefined && n > rule.max))
        out.push({
          what: 'journal count',
          expected: `${describe(rule.count)}: ${rule.min ?? 0}${rule.max !== undefined ? ` to ${rule.max}` : ' or more'}`,
          got: String(n),
        })
    } else if (first(rule.some) < 0) {
      out.push({ what: 'journal', expected: `some ${describe(rule.some)}`, got: 'none' })
    }
  }
  return out
}
