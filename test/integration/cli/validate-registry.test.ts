import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MINIMAL_SCENARIO } from '../../helpers/lab.js'
import { runCli } from '../../helpers/process.js'

/*
 * Issue 15: `validate` refuses everything `up` would, each with file:line:col — checks that the schema
 * cannot make (a record's data, a CIDR, a file on disk) come from the servers' definitions in the registry.
 */
const dir = mkdtempSync(join(tmpdir(), 'cx700-validate-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const BAD = `${MINIMAL_SCENARIO}    mailbox:
      voicemail:
        - { from: Bob, audio: missing.wav }
servers:
  dns:
    records:
      - { name: x.contoso.test, type: A, value: 10.0.0.300 }
    views:
      - match: { peer: 10.50.0.0/33 }
faults:
  - match: { server: ntp, peer: 10.0.0.300 }
    fault: { kind: drop }
`

describe('cx700-lab validate', () => {
  it('reports a bad DNS record address, bad CIDRs and a missing audio file, each where it was written', async () => {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, BAD)
    const out = await runCli(['validate', file])
    expect(out.code).toBe(1)
    const lines = out.stdout.split('\n').concat(out.stderr.split('\n'))
    const line = (pointer: string): string | undefined => lines.find((l) => l.includes(`  ${pointer}  `))
    expect(line('/servers/dns/records/0/value')).toMatch(
      /bad\.yaml:14:\d+ {2}\/servers\/dns\/records\/0\/value {2}.*"10\.0\.0\.300" is not an IPv4 address/,
    )
    expect(line('/servers/dns/views/0/match/peer')).toMatch(/bad\.yaml:16:\d+ .*IPv4 address or CIDR block/)
    expect(line('/faults/0/match/peer')).toMatch(/bad\.yaml:18:\d+ .*IPv4 address or CIDR block/)
    expect(line('/users/0/mailbox/voicemail/0/audio')).toMatch(
      new RegExp(`bad\\.yaml:10:\\d+ .*${join(dir, 'missing.wav').replace(/[.]/g, '\\.')} cannot be read`),
    )
  })

  it('accepts the same scenario once each is right', async () => {
    const file = join(dir, 'good.yaml')
    writeFileSync(join(dir, 'tone.wav'), Buffer.from('RIFF\0\0\0\0WAVEfmt ', 'latin1'))
    writeFileSync(
      file,
      BAD.replace('10.0.0.300 }', '10.0.0.30 }')
        .replace('/33', '/24')
        .replace('peer: 10.0.0.300', 'peer: 10.0.0.30')
        .replace('missing.wav', 'tone.wav'),
    )
    const out = await runCli(['validate', file])
    expect(`${out.stdout}${out.stderr}`).not.toMatch(/\/servers|\/faults|\/users/)
    expect(out.code).toBe(0)
  })
})
