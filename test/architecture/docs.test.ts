import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'

/*
 * docs/architecture.md describes the code as it is: every folder and source file it names exists. A name is
 * a path in backticks or in the layer picture (`core/`, `servers/index.ts`, `phone/stages/`); a bare folder
 * name ending in / (dhcp/) is looked for under servers/; other words with a slash (start/stop) are prose.
 */
const root = packageRoot()
/** The project's top folders: a path that starts with one of them is a path, not prose like start/stop. */
const TOP = ['core', 'certs', 'servers', 'lab', 'phone', 'cli', 'bench', 'test', 'docs', 'scenarios']
const text = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8')

function namedPaths(markdown: string): string[] {
  const out = new Set<string>()
  const candidates = [...markdown.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]!)
  candidates.push(...(markdown.match(/\b[a-z][a-z0-9-]*\/(?:[a-z0-9.-]+\/?)*/g) ?? []))
  for (const c of candidates) {
    const p = c.replace(/[.,:;)]+$/, '')
    if (p.includes('<') || p.startsWith('/') || p.startsWith('http')) continue
    const top = p.split('/')[0]!
    if (/^[a-z][a-z0-9-]*\/$/.test(p) || (TOP.includes(top) && /^[a-z][a-z0-9-]*\/[\w./-]+$/.test(p)))
      out.add(p)
  }
  return [...out]
}

describe('docs/architecture.md', () => {
  const named = namedPaths(text)

  it('names the layers and the registry', () => {
    for (const p of ['core/', 'certs/', 'servers/', 'lab/', 'phone/', 'servers/index.ts', 'phone/stages/'])
      expect(named).toContain(p)
  })

  it('names no folder or file that does not exist', () => {
    const missing = named.filter((p) => !existsSync(join(root, p)) && !existsSync(join(root, 'servers', p)))
    expect(missing).toEqual([])
  })

  it('would notice a folder that is gone', () => {
    expect(
      namedPaths('see `phone/gone/` and lab/nowhere/').filter((p) => !existsSync(join(root, p))),
    ).toEqual(['phone/gone/', 'lab/nowhere/'])
  })
})
