import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../lab/paths.js'
import { nodeVersionProblem } from './node-version.js'

describe('the Node versions the lab runs on', () => {
  it('takes 22.12 and later on the 22 line, and 24 and later', () => {
    for (const v of ['22.12.0', '22.23.3', '23.1.0', '24.0.0', '24.21.0', '26.1.2'])
      expect(nodeVersionProblem(v)).toBeUndefined()
  })

  it('refuses older ones with a coded error that names the version and a way out that keeps the system’s Node', () => {
    for (const v of ['20.20.2', '22.11.0', '18.19.1']) {
      const problem = nodeVersionProblem(v)
      expect(problem?.code).toBe('LAB_ERR_NODE_VERSION')
      expect(problem?.message).toContain(`Node ${v} is not supported`)
      expect(problem?.message).toContain('npm install --prefix ~/.local/node24 node@24')
      expect(problem?.message).not.toContain('install -g')
    }
  })

  it('is checked by npm start and npm test before they build anything, by a script any Node can run', () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
    for (const script of ['prestart', 'pretest'])
      expect(pkg.scripts[script]).toMatch(/^node cli\/node-version\.js && /)
    const run = spawnSync(process.execPath, [join(packageRoot(), 'cli', 'node-version.js')], {
      encoding: 'utf8',
    })
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' })
  })
})
