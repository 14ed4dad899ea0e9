import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MINIMAL_SCENARIO } from '../helpers/lab.js'
import { createNetns, type Netns } from '../helpers/netns.js'
import { spawnLab, type LabProcess } from '../helpers/process.js'
import { rootSkip, tool } from '../helpers/tools.js'

const nmblookup = tool('nmblookup', 'samba-common-bin')
const ip = tool('ip', 'iproute2')
const skip = rootSkip() ?? nmblookup.skip ?? ip.skip

const SCENARIO = `${MINIMAL_SCENARIO.replace('sipDomain: contoso.test', 'sipDomain: contoso.test\n  adDomain: corp.contoso.test')}servers:
  netbios: { enabled: true }
faults:
  - match: { server: netbios, fields: { name: 'BROKEN<00>' } }
    fault: { kind: error, code: SRV_ERR }
`

/**
 * Samba's nmblookup always asks port 137, so the lab runs in netns mode (standard ports) inside a namespace
 * of the test's own, and nmblookup asks the WINS double there by unicast, as a WINS client does.
 */
describe.skipIf(skip)(`nmblookup against the WINS double in a network namespace (${skip ?? 'root'})`, () => {
  let ns: Netns
  let lab: LabProcess
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cx700-netbios-'))
    ns = await createNetns()
    writeFileSync(join(dir, 'wins.yaml'), SCENARIO)
    lab = await spawnLab(
      [join(dir, 'wins.yaml'), '--mode', 'netns', '--admin', '127.0.0.1:0', '--state', join(dir, 'state')],
      { spawner: (argv) => ns.spawn(argv) },
    )
  })

  afterAll(async () => {
    await lab?.[Symbol.asyncDispose]()
    await ns?.[Symbol.asyncDispose]()
    rmSync(dir, { recursive: true, force: true })
  })

  const lookup = async (name: string): Promise<{ code: number; out: string }> => {
    const r = await ns.exec([nmblookup.path!, '-U', '127.0.0.1', '--recursion', name], { timeoutMs: 15_000 })
    return { code: r.code, out: r.stdout + r.stderr }
  }

  it('binds UDP 137 in netns mode', () => {
    expect(lab.ready.endpoints.find((e) => e.server === 'netbios')).toMatchObject({ port: 137 })
  })

  it('names the domain controllers for CORP<1C>, and the DC by its own name', async () => {
    const dcs = await lookup('CORP#1c')
    expect(dcs.code, dcs.out).toBe(0)
    expect(dcs.out).toMatch(/^10\.50\.0\.1 CORP<1c>$/m)
    const dc = await lookup('DC1#20')
    expect(dc.out).toMatch(/^10\.50\.0\.1 DC1<20>$/m)
  })

  it('tells nmblookup an unknown name does not exist, and a faulted one fails', async () => {
    const unknown = await lookup('NOSUCH')
    expect(unknown.code).not.toBe(0)
    expect(unknown.out).toContain('name_query failed to find name NOSUCH')
    const broken = await lookup('BROKEN')
    expect(broken.code).not.toBe(0)
  })

  it('journaled every query and answer, keyed by the asking device', () => {
    const lines = readFileSync(lab.ready.journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; summary: string; device?: { ip: string } })
    const answers = lines.filter((e) => e.kind === 'netbios:response')
    expect(answers.map((e) => e.summary)).toEqual(
      expect.arrayContaining([
        'CORP<1C> → 10.50.0.1',
        'DC1<20> → 10.50.0.1',
        'NOSUCH<00> → NAM_ERR (no such name)',
        'BROKEN<00> → SRV_ERR (fault)',
      ]),
    )
    expect(answers.every((e) => e.device?.ip === '127.0.0.1')).toBe(true)
  })
})
