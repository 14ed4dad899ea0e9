import { readFileSync, existsSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { sourceFiles } from '../helpers/source.js'

/*
 * The house's layers (docs/architecture.md): core → certs → servers → lab → phone, cli, bench. Nothing
 * imports from a higher layer — not even a type: a lower layer that needs something from above defines a
 * narrow type of its own — and the source has no import circles. Tests are not part of the graph.
 */
const RANK: Readonly<Record<string, number>> = {
  core: 0,
  certs: 1,
  servers: 2,
  lab: 3,
  phone: 4,
  cli: 4,
  bench: 4,
}
const root = packageRoot()

/** Every relative module a file imports or re-exports (type-only ones included), resolved to a file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    const target = resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts')
    if (existsSync(target)) out.push(target)
  }
  for (const m of text.matchAll(/\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
    const target = resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts')
    if (existsSync(target)) out.push(target)
  }
  return out
}

const layerOf = (file: string): string => relative(root, file).split('/')[0] ?? ''

function graph(): Map<string, string[]> {
  const files = Object.keys(RANK).flatMap((layer) =>
    existsSync(join(root, layer)) ? sourceFiles(join(root, layer)) : [],
  )
  return new Map(files.map((f) => [f, importsOf(f)]))
}

/** Strongly connected components with more than one file (Tarjan). */
function circles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next)
    next++
    stack.push(v)
    onStack.add(v)
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1) found.push(component.map((f) => relative(root, f)).sort())
    }
  }
  for (const v of edges.keys()) if (!index.has(v)) visit(v)
  return found
}

describe('layers', () => {
  const edges = graph()

  it('reads the whole source', () => {
    expect(edges.size).toBeGreaterThan(100)
    expect([...edges.keys()].some((f) => layerOf(f) === 'core')).toBe(true)
  })

  it('has no import from a lower layer into a higher one', () => {
    const upward: string[] = []
    for (const [from, targets] of edges)
      for (const to of targets)
        if (RANK[layerOf(to)]! > RANK[layerOf(from)]!)
          upward.push(`${relative(root, from)} → ${relative(root, to)}`)
    expect(upward).toEqual([])
  })

  it('has no import circle', () => {
    expect(circles(edges)).toEqual([])
  })

  it('finds a circle and an upward import when there is one (the check can fail)', () => {
    const a = join(root, 'core', 'a.ts')
    const b = join(root, 'servers', 'b.ts')
    const made = new Map([
      [a, [b]],
      [b, [a]],
    ])
    expect(circles(made)).toHaveLength(1)
    expect(RANK[layerOf(b)]! > RANK[layerOf(a)]!).toBe(true)
  })
})
