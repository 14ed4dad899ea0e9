import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { sourceFiles } from '../helpers/source.js'

/*
 * House style: a function short enough to read at once — aim under 60 lines, none over 80 (tests aside).
 * Every function, method, arrow and accessor of the source is measured from its first line to its last, as
 * the TypeScript compiler parses it; a longer one fails here with its place, so the line holds.
 */
const LIMIT = 80
const ROOTS = ['core', 'certs', 'servers', 'lab', 'phone', 'cli', 'bench']
const root = packageRoot()

interface Measured {
  readonly lines: number
  readonly where: string
}

function measure(file: string): Measured[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const out: Measured[] = []
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body !== undefined) {
      const first = src.getLineAndCharacterOfPosition(n.getStart(src)).line
      const last = src.getLineAndCharacterOfPosition(n.getEnd()).line
      out.push({ lines: last - first + 1, where: `${relative(root, file)}:${first + 1}` })
    }
    ts.forEachChild(n, visit)
  }
  visit(src)
  return out
}

describe('function length', () => {
  it(`no function of the source is over ${LIMIT} lines`, () => {
    const all = ROOTS.flatMap((r) => sourceFiles(join(root, r))).flatMap(measure)
    expect(all.length).toBeGreaterThan(1_000)
    const over = all.filter((m) => m.lines > LIMIT).map((m) => `${m.where} (${m.lines} lines)`)
    expect(over).toEqual([])
  })
})
