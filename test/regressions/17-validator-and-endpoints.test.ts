import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MINIMAL_SCENARIO } from '../helpers/lab.js'
import { runCli, spawnEphemeralLab } from '../helpers/process.js'

/*
 * Issue 17, findings 4 and 6, through the CLI a user runs: the validator's suggestions and its silences, and
 * the port map's list of the names HTTPS serves.
 */
const dir = mkdtempSync(join(tmpdir(), 'cx700-validator-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function validate(name: string, yaml: string): Promise<string[]> {
  const file = join(dir, name)
  writeFileSync(file, yaml)
  const out = await runCli(['validate', file])
  expect(out.code, out.stdout + out.stderr).toBe(1)
  return (out.stdout + out.stderr).split('\n').filter(Boolean)
}

describe('cx700-lab validate says what was meant', () => {
  it('suggests domainName and searchList for option15 and option119', async () => {
    const lines = await validate(
      'options.yaml',
      `${MINIMAL_SCENARIO}servers:\n  dhcp:\n    option15: a.test\n    option119: [a.test]\n`,
    )
    expect(lines.find((l) => l.includes('/servers/dhcp/option15'))).toContain('did you mean "domainName"?')
    expect(lines.find((l) => l.includes('/servers/dhcp/option119'))).toContain('did you mean "searchList"?')
  })

  it('shows the shape of an options entry when options is not a list', async () => {
    const lines = await validate(
      'shape.yaml',
      `${MINIMAL_SCENARIO}servers:\n  dhcp:\n    options: { code: 120 }\n`,
    )
    expect(lines.find((l) => l.includes('/servers/dhcp/options'))).toMatch(
      /must be array: a list of options such as \[\{ code: 120/,
    )
  })

  it('refuses a word for nothing as the DHCP domain, and says how to send no option 15', async () => {
    const lines = await validate(
      'none.yaml',
      MINIMAL_SCENARIO.replace('sipDomain: contoso.test', 'sipDomain: contoso.test\n  dhcpDomain: none') +
        'servers:\n  dhcp:\n    domainName: "not a domain!"\n',
    )
    expect(lines.find((l) => l.includes('/site/dhcpDomain'))).toContain('servers.dhcp.domainName: ""')
    expect(lines.find((l) => l.includes('/servers/dhcp/domainName'))).toContain('or "" to send no option 15')
  })

  it('takes only the end states the emulator can reach, and lists them', async () => {
    const lines = await validate('end.yaml', `${MINIMAL_SCENARIO}expect:\n  endState: happy\n`)
    const line = lines.find((l) => l.includes('/expect/endState'))
    expect(line).toContain('must be one of:')
    expect(line).toContain('signed-in-without-exchange')
  })
})

describe('the port map', () => {
  it('lists the Autodiscover names among the HTTPS hosts', async () => {
    await using lab = await spawnEphemeralLab(join(dir, 'state'))
    const https = lab.ready.endpoints.find((e) => e.name === 'https')
    expect(https?.hosts).toEqual(
      expect.arrayContaining(['mail.contoso.test', 'autodiscover.contoso.test', 'contoso.test']),
    )
  })
})
