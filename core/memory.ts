import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Logger } from './logger.js'

/**
 * A lab that serves for days under steady load never goes idle, so V8's own memory reducer (which runs when
 * allocation stops) never runs and the heap keeps the headroom it grew: a week-long soak ended at twice the
 * resident memory of a signed-in lab while its live heap stayed bounded. This asks V8 for a full collection
 * when the heap has grown by `growthBytes` (8 MiB) since the last one, checked every `intervalMs` (10 s) of wall time — a
 * few milliseconds for the lab's heap — and the pages freed go back to the system.
 *
 * The collector is reached through V8's `--expose-gc`, set at run time; when that is not possible the
 * reducer does nothing (and says so in the log).
 */
export function startMemoryReducer(
  logger: Logger,
  options: { readonly intervalMs?: number; readonly growthBytes?: number } = {},
): { stop(): void } {
  const gc = exposedGc()
  if (!gc) {
    logger.debug('memory reducer unavailable: V8 does not expose its collector here')
    return { stop: () => undefined }
  }
  const growth = options.growthBytes ?? 8 * 1024 * 1024
  let after = process.memoryUsage().heapUsed
  const timer = setInterval(() => {
    const used = process.memoryUsage().heapUsed
    if (used - after < growth) return
    gc()
    after = process.memoryUsage().heapUsed
    logger.debug({ before: used, after }, 'memory reducer: full collection')
  }, options.intervalMs ?? 10_000)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

function exposedGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc
  if (typeof existing === 'function') return existing
  try {
    setFlagsFromString('--expose-gc')
    const gc: unknown = runInNewContext('gc')
    return typeof gc === 'function' ? (gc as () => void) : undefined
  } catch {
    return undefined
  }
}
