import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { createNetns } from '../helpers/netns.js'
import { rootSkip, tool } from '../helpers/tools.js'

/*
 * README's walk-through, run as written (issue 17, finding 7): every command, in order, against a lab in a
 * network namespace of the test's own (so that the README's fixed ports, 8700 and 10000 + N, are free and
 * nothing leaves the namespace), with a state directory of its own. Each must exit 0. Three lines are run
 * the way a person would: `npm start &` starts the built lab (npm start builds first; the tests run on a
 * build already), the `--follow` line streams until stopped, and `xdg-open` (a browser) is a curl of the
 * same URL.
 */
const root = packageRoot()
const dig = tool('dig', 'bind9-dnsutils')
const chronyd = tool('chronyd', 'chrony')
const state = mkdtempSync(join(tmpdir(), 'cx700-readme-'))
afterAll(() => rmSync(state, { recursive: true, force: true }))

function walkthrough(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## A walk-through'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  return block
    .split('\n')
    .map((line) => line.replace(/\s{2,}#.*$/, '').trim())
    .filter((line) => line !== '')
}

describe.skipIf(rootSkip() ?? dig.skip ?? chronyd.skip)('README walk-through', () => {
  it('runs every command of the walk-through, in order, and each exits 0', async () => {
    const commands = walkthrough()
    expect(commands[0]).toBe('npm start &')
    expect(commands.length).toBeGreaterThan(15)
    await using ns = await createNetns()
    const env = `export XDG_STATE_HOME=${state} PATH=${dirname(process.execPath)}:${process.env.PATH ?? ''} &&`
    const sh = (command: string, timeoutMs = 60_000) =>
      ns.exec(['bash', '-c', `cd ${root} && ${env} ${command}`], { timeoutMs })
    const lab = ns.spawn(['bash', '-c', `cd ${root} && ${env} exec node dist/cli/main.js up`], {
      stdio: 'ignore',
    })
    expect(lab.pid).toBeDefined()
    const health = await sh(
      'for i in $(seq 100); do curl -sf 127.0.0.1:8700/health && exit 0; sleep 0.1; done; exit 1',
    )
    expect(health.code, 'the lab never answered /health on 8700').toBe(0)
    for (const command of commands.slice(1)) {
      if (command.startsWith('xdg-open ')) {
        const page = await sh(`curl -sf ${command.split(' ')[1]}`)
        expect(page.code, command).toBe(0)
        expect(page.stdout).toContain('cx700-lab')
        continue
      }
      if (command.includes('--follow')) {
        // A stream: it must still be running (no error) when stopped after two seconds.
        const follow = await sh(`timeout 2 ${command}; test $? -eq 124`)
        expect(follow.code, `${command}\n${follow.stderr}`).toBe(0)
        continue
      }
      const out = await sh(command, command.includes('verify') ? 300_000 : 60_000)
      expect(out.code, `${command}\n${out.stdout.slice(-2000)}\n${out.stderr.slice(-2000)}`).toBe(0)
    }
  }, 600_000)
})
