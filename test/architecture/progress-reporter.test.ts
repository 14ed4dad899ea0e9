import { describe, expect, it } from 'vitest'
import type { TestModule, TestSpecification } from 'vitest/node'
import ProgressReporter, { clock, progressLine } from '../helpers/progress-reporter.js'

/* The suite's progress off a terminal: a line per finished file, how many of how many, time, failures. */
describe('the progress reporter', () => {
  it('formats how far the run is', () => {
    expect(clock(0)).toBe('0:00')
    expect(clock(61_999)).toBe('1:01')
    expect(progressLine(3, 120, 125_000, 0, 'unit core/clock.test.ts')).toBe(
      '[3/120 files, 2:05] unit core/clock.test.ts',
    )
    expect(progressLine(4, 120, 130_000, 1, 'x')).toBe('[4/120 files, 2:10, 1 failed] x')
  })

  it('prints a line per file off a terminal, counting failures, and nothing on a terminal', () => {
    const run = (tty: boolean): string => {
      let text = ''
      const write = (chunk: string): boolean => ((text += chunk), true)
      const out = { isTTY: tty, write } as unknown as NodeJS.WriteStream
      const r = new ProgressReporter({ out })
      r.onTestRunStart([{}, {}] as unknown as TestSpecification[])
      const module = (state: string, id: string): TestModule =>
        ({ state: () => state, project: { name: 'unit' }, relativeModuleId: id }) as unknown as TestModule
      r.onTestModuleEnd(module('passed', 'a.test.ts'))
      r.onTestModuleEnd(module('failed', 'b.test.ts'))
      return text
    }
    expect(run(false)).toMatch(
      /^\[1\/2 files, 0:00\] unit a\.test\.ts\n\[2\/2 files, 0:00, 1 failed\] unit b\.test\.ts\n$/,
    )
    expect(run(true)).toBe('')
  })
})
