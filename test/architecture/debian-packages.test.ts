import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'

/*
 * CI runs on a fresh machine: every Debian package a test drives must be in .ci/debian-packages.txt, which
 * .ci/run installs before anything else. A package installed by hand on a developer's machine hides a missing
 * line until a new machine fails; this test does not.
 */
const root = packageRoot()
const SKIP = new Set(['node_modules', 'dist', '.git', 'test-output'])
// This file's own examples name packages too; they must not count as a test's need.
const SELF = join(root, 'test', 'architecture', 'debian-packages.test.ts')

/** The packages .ci/run installs: the first word of each line, notes after '#' left out. */
function listedPackages(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '')
    .map((l) => l.split(/\s+/)[0]!)
}

/** Each package a source names through tool(…), pythonModule(…) or debianPackage(…). */
function namedPackages(source: string): string[] {
  const re = /\b(?:tool|pythonModule)\(\s*'[^']+',\s*'([^']+)'|\bdebianPackage\(\s*'([^']+)'/g
  return [...source.matchAll(re)].map((m) => (m[1] ?? m[2])!)
}

function typescriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name)
    if (SKIP.has(d.name) || p === SELF) return []
    if (d.isDirectory()) return typescriptFiles(p)
    return d.name.endsWith('.ts') ? [p] : []
  })
}

describe('the Debian packages the tests need', () => {
  const listed = listedPackages(readFileSync(join(root, '.ci', 'debian-packages.txt'), 'utf8'))
  const named = new Map<string, string[]>()
  for (const file of typescriptFiles(root)) {
    for (const pkg of namedPackages(readFileSync(file, 'utf8'))) {
      named.set(pkg, [...(named.get(pkg) ?? []), relative(root, file)])
    }
  }

  it('reads the calls it checks', () => {
    expect(namedPackages(`tool('dig', 'bind9-dnsutils') pythonModule('ldap3', 'python3-ldap3')`)).toEqual([
      'bind9-dnsutils',
      'python3-ldap3',
    ])
    expect(namedPackages(`debianPackage('libsasl2-modules-gssapi-mit')`)).toEqual([
      'libsasl2-modules-gssapi-mit',
    ])
    expect(listedPackages('# note\nbusybox   # udhcpc\n\ncurl\n')).toEqual(['busybox', 'curl'])
  })

  it('are all in .ci/debian-packages.txt, which .ci/run installs', () => {
    const missing = [...named].filter(([pkg]) => !listed.includes(pkg))
    expect(missing.map(([pkg, files]) => `${pkg} (named in ${files.join(', ')})`)).toEqual([])
    expect(named.size).toBeGreaterThan(10)
    expect(readFileSync(join(root, '.ci', 'run'), 'utf8')).toContain('.ci/debian-packages.txt')
  })

  it('lists nothing no test needs, once each, sorted', () => {
    expect(listed.filter((p) => !named.has(p))).toEqual([])
    expect(listed).toEqual([...new Set(listed)].sort())
  })
})
