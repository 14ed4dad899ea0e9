import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { loadPack } from '../../lab/training/pack.js'

const SCENARIOS = join(packageRoot(), 'scenarios')
const PACKS = join(SCENARIOS, 'training')
const packFiles = readdirSync(PACKS).filter((f) => f.endsWith('.yaml'))

/** The catalogue's F numbers: a story file `f<N>-….yaml` is F<N> of the spec's failure list. */
const catalogue = new Map(
  readdirSync(SCENARIOS)
    .map((f) => /^f(\d+)-.*\.yaml$/.exec(f))
    .flatMap((m) => (m ? [[m[0].replace(/\.yaml$/, ''), Number(m[1])] as const] : [])),
)
const knownF = new Set(catalogue.values())
const cited = (text: string): number[] => [...text.matchAll(/\bF(\d+)\b/g)].map((m) => Number(m[1]))

describe('exercise packs (issue 38)', () => {
  it.each(packFiles)(
    '%s: trainer notes cite the F number of the catalogue story the exercise runs',
    (file) => {
      const pack = loadPack(join(PACKS, file))
      for (const e of pack.exercises) {
        const fs = cited(`${e.notes} ${e.title} ${e.question}`)
        for (const n of fs) expect([e.id, knownF.has(n)]).toEqual([e.id, true])
        const own = e.story === undefined ? undefined : catalogue.get(e.story)
        // An exercise that cites an F number runs that story of the catalogue, and cites only it.
        if (fs.length > 0 || own !== undefined) expect([e.id, [...new Set(fs)]]).toEqual([e.id, [own]])
      }
    },
  )

  it('the half-day pack: at least eight exercises, four of them hands-on, each on a story of the catalogue', () => {
    const pack = loadPack(join(PACKS, 'half-day.yaml'))
    expect(pack.exercises.length).toBeGreaterThanOrEqual(8)
    const fixes = pack.exercises.filter((e) => e.kind === 'fix')
    expect(fixes.length).toBeGreaterThanOrEqual(4)
    for (const e of pack.exercises) expect([e.id, catalogue.has(e.story ?? '')]).toEqual([e.id, true])
  })

  it('refuses a fix exercise without a story or a tool to fix with, and a choice exercise without choices', () => {
    const base = `version: 1\nname: p\nexercises:\n  - id: x\n    title: t\n    question: q\n    notes: n\n`
    expect(() => loadPack('/tmp/p.yaml', `${base}    kind: fix\n    tools: [journal]\n`)).toThrow(
      /a fix exercise needs a story[\s\S]*needs dns-edit or dhcp-edit/,
    )
    expect(() =>
      loadPack('/tmp/p.yaml', `${base}    faults: [{ match: { server: sip }, fault: { kind: drop } }]\n`),
    ).toThrow(/at least two choices/)
  })
})
