import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'

/*
 * docs/architecture.md, "Adding a server": a new protocol is a folder shaped like its siblings plus one line
 * in the registry, and every list of servers, ports or roles follows from the registry. This test follows the
 * recipe on a copy of the source: it adds the toy echo server of test/fixtures/toy-server as servers/toy,
 * adds its line to servers/index.ts, and touches nothing else. Then the copy type-checks, and the toy's own
 * test (run in the copy) finds it configured by its block, bound, on the port map and in preflight's ports,
 * journaled with its device, faulted through the one vocabulary, read by the golden timelines' `ask`, and
 * its block validated with its own errors.
 */
const root = packageRoot()
const FIXTURE = join(root, 'test', 'fixtures', 'toy-server')
const SOURCE = ['core', 'certs', 'servers', 'lab', 'phone', 'cli', 'bench', 'scenarios', 'test']
const FILES = ['package.json', 'tsconfig.json', 'vitest.config.ts']

/** The recipe's one registry line, and the import of the definition it names. */
function addToRegistry(index: string): string {
  const withImport = index.replace(
    "import { sipDefinition } from './sip/index.js'",
    "import { sipDefinition } from './sip/index.js'\nimport { toyDefinition } from './toy/index.js'",
  )
  const withLine = withImport.replace(
    '  sip: sipDefinition,\n',
    '  sip: sipDefinition,\n  toy: toyDefinition,\n',
  )
  expect(withLine).not.toBe(withImport)
  expect(withImport).not.toBe(index)
  return withLine
}

function copyWithToy(): string {
  const copy = mkdtempSync(join(tmpdir(), 'cx700-lab-toy-'))
  for (const dir of SOURCE) cpSync(join(root, dir), join(copy, dir), { recursive: true })
  for (const file of FILES) cpSync(join(root, file), join(copy, file))
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir')
  mkdirSync(join(copy, 'servers', 'toy'))
  for (const part of ['index', 'schema', 'server', 'events'])
    cpSync(join(FIXTURE, `${part}.ts.txt`), join(copy, 'servers', 'toy', `${part}.ts`))
  const index = join(copy, 'servers', 'index.ts')
  writeFileSync(index, addToRegistry(readFileSync(index, 'utf8')))
  mkdirSync(join(copy, 'test', 'integration', 'toy'), { recursive: true })
  cpSync(join(FIXTURE, 'toy.test.ts.txt'), join(copy, 'test', 'integration', 'toy', 'toy.test.ts'))
  return copy
}

function run(copy: string, args: string[]): { status: number | null; output: string } {
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }
  const r = spawnSync(process.execPath, args, { cwd: copy, env, encoding: 'utf8', timeout: 150_000 })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

describe('adding a server', () => {
  it('takes a folder shaped like its siblings and one registry line; the rest follows', () => {
    const copy = copyWithToy()
    try {
      const tsc = run(copy, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', '.'])
      expect(tsc.output).toBe('')
      expect(tsc.status).toBe(0)
      const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')
      const toy = run(copy, [vitest, 'run', '--project', 'integration', 'test/integration/toy/'])
      expect(toy.output).toMatch(/Tests\s+2 passed/)
      expect(toy.status).toBe(0)
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  }, 300_000)
})
