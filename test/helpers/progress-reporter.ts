import { performance } from 'node:perf_hooks'
import type { Reporter, TestModule, TestSpecification } from 'vitest/node'

/** m:ss of `ms`. */
export function clock(ms: number): string {
  const s = Math.floor(ms / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

/** The line printed as a file ends: how far the run is, how long it has taken, how many files failed. */
export function progressLine(
  done: number,
  total: number,
  elapsedMs: number,
  failed: number,
  file: string,
): string {
  const failures = failed > 0 ? `, ${failed} failed` : ''
  return `[${done}/${total} files, ${clock(elapsedMs)}${failures}] ${file}`
}

/**
 * Progress a person can follow when the output is not a terminal (CI, a log file, `| tee`): one line per
 * finished test file with how many of how many, the time so far and the failures so far. On a terminal,
 * vitest's default reporter already keeps a live count, so this prints nothing there.
 */
export default class ProgressReporter implements Reporter {
  readonly #out: NodeJS.WriteStream
  #total = 0
  #done = 0
  #failed = 0
  #start = performance.now()

  /** vitest constructs a reporter with its options from the config (none here); tests give `out`. */
  constructor(options: { readonly out?: NodeJS.WriteStream } = {}) {
    this.#out = options.out ?? process.stdout
  }

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.#total = specifications.length
    this.#start = performance.now()
  }

  onTestModuleEnd(module: TestModule): void {
    this.#done++
    if (module.state() === 'failed') this.#failed++
    if (this.#out.isTTY) return
    const file = `${module.project.name} ${module.relativeModuleId}`
    this.#out.write(
      `${progressLine(this.#done, this.#total, performance.now() - this.#start, this.#failed, file)}\n`,
    )
  }
}
