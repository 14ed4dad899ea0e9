import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MINIMAL_SCENARIO, startTestLab } from '../helpers/lab.js'
import { runCli } from '../helpers/process.js'

/*
 * Issue 16, finding 3: scenario files that froze or exhausted the lab — `extends:` naming a FIFO or
 * /dev/zero, a 69 MB file, a YAML alias bomb (a raw stack trace, the admin API answering 500), an NTP offset
 * of 10^20 years that validated and then failed every NTP request, `__proto__:` keys silently dropped.
 */
const dir = mkdtempSync(join(tmpdir(), 'cx700-hostile-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function refused(name: string, yaml: string, expected: RegExp): Promise<void> {
  const file = join(dir, name)
  writeFileSync(file, yaml)
  const out = await runCli(['validate', file])
  const text = out.stdout + out.stderr
  expect(out.code, text).toBe(1)
  expect(text).toMatch(expected)
  expect(text).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/) // no stack trace
}

const BOMB = `version: 1
name: bomb
site: { sipDomain: contoso.test }
a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
`

describe('hostile scenario files are refused with file:line, quickly, and nothing freezes', () => {
  it('refuses extends: naming a FIFO or a device, at once', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')])
    await refused(
      'fifo.yaml',
      `extends: fifo\n${MINIMAL_SCENARIO}`,
      /fifo.yaml:1:\d+ .*\/extends .*not a regular file/,
    )
    await refused('zero.yaml', `extends: /dev/zero\n${MINIMAL_SCENARIO}`, /\/extends .*not a regular file/)
  })

  it('refuses a file over the size cap without reading it', async () => {
    writeFileSync(
      join(dir, 'huge.yaml'),
      `${MINIMAL_SCENARIO}description: "${'x'.repeat(2 * 1024 * 1024)}"\n`,
    )
    const out = await runCli(['validate', join(dir, 'huge.yaml')])
    expect(out.code).toBe(1)
    expect(out.stdout + out.stderr).toMatch(/huge\.yaml:1:1 .*a scenario has at most 1048576/)
  })

  it('refuses an alias bomb and deep nesting with file:line, and the admin API answers 400, not 500', async () => {
    await refused('bomb.yaml', BOMB, /bomb\.yaml:1:1 .*Excessive alias count/)
    await refused(
      'deep.yaml',
      `${MINIMAL_SCENARIO}description: ${'['.repeat(40)}${']'.repeat(40)}\n`,
      /deep\.yaml:8:\d+ .*nested deeper than 32 levels/,
    )
    await using t = await startTestLab()
    const answer = await fetch(`${t.admin.url}/scenario`, {
      method: 'POST',
      headers: { 'content-type': 'text/yaml' },
      body: BOMB,
    })
    expect(answer.status).toBe(400)
  })

  it('refuses a duration the clock cannot hold, and __proto__ as an unknown field', async () => {
    await refused(
      'offset.yaml',
      `${MINIMAL_SCENARIO}servers:\n  ntp:\n    offset: +99999999999999999999y\n`,
      /offset\.yaml:10:\d+ +\/servers\/ntp\/offset .*at most 1000 years/,
    )
    await refused(
      'proto.yaml',
      `${MINIMAL_SCENARIO}__proto__: { polluted: true }\n`,
      /proto\.yaml:8:1 .*unknown field "__proto__"/,
    )
  })
})
