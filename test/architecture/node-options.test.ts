import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LAB_NODE_OPTIONS, packageRoot } from '../../lab/paths.js'

/* The lab runs with the same Node options however it is started: the command, npm start, benches, tests. */
describe('the options Node runs the lab with', () => {
  const root = packageRoot()

  it('are on the cx700-lab command line (its first line) and in npm start', () => {
    const firstLine = readFileSync(join(root, 'cli', 'main.ts'), 'utf8').split('\n')[0]
    expect(firstLine).toBe(`#!/usr/bin/env -S node ${LAB_NODE_OPTIONS.join(' ')}`)
    const built = readFileSync(join(root, 'dist', 'cli', 'main.js'), 'utf8').split('\n')[0]
    expect(built).toBe(firstLine)
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }
    expect(pkg.scripts.start).toBe(`node ${LAB_NODE_OPTIONS.join(' ')} dist/cli/main.js up`)
  })
})
