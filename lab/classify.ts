import type { EventClass, EventClassifier } from '../core/journal/events.js'
import type { JournalEvent } from '../core/journal/journal.js'
import { SERVER_DEFINITIONS } from '../servers/index.js'

const CLASSIFIERS: ReadonlyMap<string, EventClassifier> = new Map(
  Object.entries(SERVER_DEFINITIONS).map(([name, def]) => [name, def.classify]),
)

/**
 * What the server that journaled an event says of it — its boot stage and whether it went well — or
 * undefined for an event that is not a phone's (the lab's own, the control plane's).
 */
export function classify(e: JournalEvent): EventClass | undefined {
  return CLASSIFIERS.get(e.server)?.(e)
}
