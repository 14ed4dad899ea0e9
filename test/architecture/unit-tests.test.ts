import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'

/* Unit tests sit beside the code and start no lab: a test that does is an integration test (test/). */
const root = packageRoot()
const UNIT_DIRS = ['core', 'certs', 'servers', 'lab', 'phone', 'cli', 'bench']

function unitTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name)
    if (d.isDirectory()) return unitTests(p)
    return d.name.endsWith('.test.ts') ? [p] : []
  })
}

describe('unit tests', () => {
  it('start no lab (tests that do live in the integration project)', () => {
    const files = UNIT_DIRS.flatMap((d) => unitTests(join(root, d)))
    expect(files.length).toBeGreaterThan(50)
    const starting = files.filter((f) => /test\/helpers\/lab\.js'|\bnew Lab\(/.test(readFileSync(f, 'utf8')))
    expect(starting.map((f) => relative(root, f))).toEqual([])
  })
})
