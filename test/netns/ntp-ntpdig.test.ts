import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LabClient } from '../../lab/client/index.js'
import { MINIMAL_SCENARIO } from '../helpers/lab.js'
import { createNetns, type Netns } from '../helpers/netns.js'
import { spawnLab, type LabProcess } from '../helpers/process.js'
import { rootSkip, tool } from '../helpers/tools.js'

const ntpdig = tool('ntpdig', 'ntpsec-ntpdig')
const ip = tool('ip', 'iproute2')
const skip = rootSkip() ?? ntpdig.skip ?? ip.skip

/**
 * ntpdig cannot take a port, so the lab runs in netns mode (standard ports) inside a namespace of the
 * test's own, and ntpdig asks 127.0.0.1:123 there. Scenarios are swapped through the admin API, which
 * the test reaches with the CLI run inside the same namespace.
 */
describe.skipIf(skip)(`ntpdig on port 123 in a network namespace (${skip ?? 'root'})`, () => {
  let ns: Netns
  let lab: LabProcess
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cx700-netns-'))
    ns = await createNetns()
    writeFileSync(join(dir, 'normal.yaml'), MINIMAL_SCENARIO)
    lab = await spawnLab(
      [join(dir, 'normal.yaml'), '--mode', 'netns', '--admin', '127.0.0.1:0', '--state', join(dir, 'state')],
      {
        spawner: (argv) => ns.spawn(argv),
      },
    )
  })

  afterAll(async () => {
    await lab?.[Symbol.asyncDispose]()
    await ns?.[Symbol.asyncDispose]()
    rmSync(dir, { recursive: true, force: true })
  })

  async function serve(name: string, ntp: string): Promise<void> {
    const file = join(dir, `${name}.yaml`)
    writeFileSync(file, MINIMAL_SCENARIO.replace('name: test', `name: ${name}`) + `servers:\n  ntp:\n${ntp}`)
    const r = await ns.exec([
      process.execPath,
      join(import.meta.dirname, '../../dist/cli/main.js'),
      'scenario',
      'load',
      file,
      '--admin',
      lab.ready.adminUrl,
    ])
    expect(r.stdout).toContain(`now serving ${name}`)
  }

  async function dig(): Promise<{ code: number; out: string }> {
    const r = await ns.exec([ntpdig.path!, '-t', '2', '127.0.0.1'])
    return { code: r.code, out: r.stdout + r.stderr }
  }

  it('binds the standard port 123 in netns mode', () => {
    expect(lab.ready.endpoints.find((e) => e.server === 'ntp')).toMatchObject({
      address: '0.0.0.0',
      port: 123,
    })
  })

  it('gives ntpdig a normal answer: stratum 2, no leap, offset under 50 ms', async () => {
    await serve('normal', '    stratum: 2\n')
    const { code, out } = await dig()
    expect(code).toBe(0)
    const m = /\(\+0000\) ([+-][\d.]+) \+\/- [\d.]+ 127\.0\.0\.1 s2 no-leap/.exec(out)
    expect(m, out).not.toBeNull()
    expect(Math.abs(Number(m![1]))).toBeLessThan(0.05)
  })

  it('shows ntpdig a clock three years ahead', async () => {
    await serve('ahead', '    offset: +3y\n')
    const { code, out } = await dig()
    expect(code).toBe(0)
    const m = /\(\+0000\) \+([\d.]+) /.exec(out)
    expect(m, out).not.toBeNull()
    expect(Math.abs(Number(m![1]) - 94_672_800)).toBeLessThan(0.05)
  })

  it('makes ntpdig drop a Kiss-o-Death', async () => {
    await serve('kod', '    kod: RATE\n')
    const { code, out } = await dig()
    expect(code).not.toBe(0)
    expect(out).toContain('stratum 0, probable KOD packet')
  })

  it('makes ntpdig refuse an unsynchronised server', async () => {
    await serve('unsync', '    leap: unsynchronised\n')
    const { code, out } = await dig()
    expect(code).not.toBe(0)
    expect(out).toContain('stratum too high')
  })

  it('keeps its admin API inside the namespace, and journaled every exchange with the device', async () => {
    // The admin API listens on the namespace's own loopback: from the host it cannot be reached.
    await expect(new LabClient(lab.ready.adminUrl).journal()).rejects.toThrow(/Failed to reach the lab/)
    const lines = readFileSync(lab.ready.journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; device?: { ip: string } })
    const responses = lines.filter((e) => e.kind === 'ntp:response')
    expect(responses.length).toBeGreaterThanOrEqual(4)
    expect(responses.every((e) => e.device?.ip === '127.0.0.1')).toBe(true)
  })
})
