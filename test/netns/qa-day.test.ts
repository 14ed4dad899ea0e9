import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import type { PhoneReport } from '../../phone/emulator.js'
import { createNetns, veth, type Netns } from '../helpers/netns.js'
import { CLI, spawnLab } from '../helpers/process.js'
import { rootSkip, tool } from '../helpers/tools.js'

const ip = tool('ip', 'iproute2')
const arping = tool('arping', 'iputils-arping')
const skip = rootSkip() ?? ip.skip ?? arping.skip
const MAC = '00:04:f2:0d:0a:01'

/**
 * A QA engineer's day with a hardware phone, from the README (issue 36): preflight, `up --mode interface`, a
 * phone booting over the link (the emulator in a namespace of its own, standing in for the hardware; the lab
 * sees it only through what it sends), `verify --device --next-boot`, `capture`, `timeline export`, a second
 * boot, `timeline diff` — every command after `up` without `--admin`: they find the lab by the state folder's
 * run file, whose admin URL is interface mode's unix socket.
 */
describe.skipIf(skip)(`a QA engineer's day in network namespaces (${skip ?? 'root'})`, () => {
  let host: Netns
  let phone: Netns
  let dir: string
  const nic = `c7d${process.pid % 10000}`
  const phoneIf = `c7e${process.pid % 10000}`

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cx700-qa-day-'))
    host = await createNetns()
    phone = await createNetns()
    await veth(host, nic, phone, phoneIf, MAC)
    mkdirSync(`/etc/netns/${phone.name}`, { recursive: true })
    writeFileSync(`/etc/netns/${phone.name}/resolv.conf`, '')
    writeFileSync(
      join(dir, 'site.yaml'),
      `extends: ${JSON.stringify(join(packageRoot(), 'scenarios', 'default.yaml'))}\nname: qa-site\n` +
        'servers:\n  dhcp: { rogueWaitMs: 500 }\n',
    )
  })
  afterAll(async () => {
    if (phone) rmSync(`/etc/netns/${phone.name}`, { recursive: true, force: true })
    await phone?.[Symbol.asyncDispose]()
    await host?.[Symbol.asyncDispose]()
    rmSync(dir, { recursive: true, force: true })
  })

  const state = (): string => join(dir, 'state')
  /** A command on the host, finding the lab by the state folder alone. */
  const cx700 = (args: string[]) =>
    host.exec([process.execPath, CLI, ...args, '--state', state()], { timeoutMs: 60_000 })
  const boot = async (): Promise<PhoneReport> => {
    const args = ['phone', '--direct', '--interface', phoneIf, '--mac', MAC, '--json']
    const r = await phone.exec([process.execPath, CLI, ...args, '--state', join(dir, 'phones')], {
      timeoutMs: 60_000,
    })
    return JSON.parse(r.stdout) as PhoneReport
  }

  it('preflight, up, a boot judged by verify --next-boot, its capture and timeline, a second boot that compares', async () => {
    const pre = await host.exec(
      [process.execPath, CLI, 'preflight', '--interface', nic, '--address', '10.50.0.1/24', '--wait', '300'],
      { timeoutMs: 30_000 },
    )
    expect(pre.code, pre.stdout + pre.stderr).toBe(0)
    expect(pre.stdout).toMatch(/^duplicate address\s+ok/m)

    const lab = await spawnLab(
      [join(dir, 'site.yaml'), '--mode', 'interface', '--interface', nic, '--address', '10.50.0.1/24'].concat(
        ['--admin', '127.0.0.1:0', '--state', state()],
      ),
      { spawner: (argv) => host.spawn(argv) },
    )
    try {
      // verify waits for the phone's next boot, reaching the lab through the run file's unix socket.
      const verify = spawn(
        'ip',
        ['netns', 'exec', host.name, process.execPath, CLI, 'verify', join(dir, 'site.yaml')].concat([
          '--device',
          MAC,
          '--next-boot',
          '--settle',
          '2s',
          '--timeout',
          '90s',
          '--state',
          state(),
        ]),
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let out = ''
      let err = ''
      verify.stdout.on('data', (d: Buffer) => (out += d.toString()))
      const verified = new Promise<number | null>((resolve) => verify.once('exit', resolve))
      await new Promise<void>((resolve) =>
        verify.stderr.on('data', (d: Buffer) => {
          err += d.toString()
          if (err.includes('waiting for')) resolve()
        }),
      )
      expect((await boot()).endState).toBe('signed-in')
      expect(await verified, `${out}${err}`).toBe(0)
      expect(out).toMatch(/qa-site\s+pass\s+signed-in/)

      const pcap = join(dir, 'boot.pcapng')
      const capture = await cx700(['capture', '--device', MAC, '-o', pcap])
      expect(capture.code, capture.stderr).toBe(0)
      expect(statSync(pcap).size).toBeGreaterThan(1000)
      const a = join(dir, 'first.json')
      expect((await cx700(['timeline', 'export', '--device', MAC, '-o', a])).code).toBe(0)
      expect(JSON.parse(readFileSync(a, 'utf8'))).toMatchObject({ boot: { kind: 'first' } })

      expect((await boot()).endState).toBe('signed-in')
      const b = join(dir, 'second.json')
      expect((await cx700(['timeline', 'export', '--device', MAC, '-o', b])).code).toBe(0)
      const diff = await cx700(['timeline', 'diff', a, b, '--tolerance', '10s'])
      expect(diff.code, diff.stdout).toBe(0)
      const ladder = join(dir, 'boot.svg')
      expect((await cx700(['timeline', 'ladder', '--device', MAC, '-o', ladder])).code).toBe(0)
      expect(existsSync(ladder) && readFileSync(ladder, 'utf8').includes('>sip</text>')).toBe(true)
    } finally {
      await lab[Symbol.asyncDispose]()
    }
  }, 180_000)
})
