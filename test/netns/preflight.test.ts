import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkedNetns, rogueDnsmasq, type LinkedNetns } from '../helpers/netns.js'
import { CLI } from '../helpers/process.js'
import { rootSkip, tool } from '../helpers/tools.js'

const ip = tool('ip', 'iproute2')
const dnsmasq = tool('dnsmasq', 'dnsmasq-base')
const skip = rootSkip() ?? ip.skip

/** `cx700-lab preflight` inside a namespace of the test's own, whose veth plays the lab host's NIC. */
describe.skipIf(skip)(`preflight in network namespaces (${skip ?? 'root'})`, () => {
  let net: LinkedNetns
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cx700-preflight-'))
    net = await createLinkedNetns()
  })
  afterAll(async () => {
    await net?.[Symbol.asyncDispose]()
    rmSync(dir, { recursive: true, force: true })
  })

  const run = async (args: string[]): Promise<{ code: number; out: string }> => {
    const r = await net.lab.exec([process.execPath, CLI, 'preflight', '--interface', net.labIf, ...args], {
      timeoutMs: 30_000,
    })
    return { code: r.code, out: r.stdout + r.stderr }
  }

  it('passes a clean namespace', async () => {
    const r = await run(['--address', '10.50.0.1/24', '--wait', '300'])
    expect(r.out).toMatch(/^link\s+ok\s+c7l\d+ is up with 10\.50\.0\.1\/24/m)
    expect(r.out).toMatch(/^port 5061\/tcp\s+ok/m)
    expect(r.out).toMatch(/^other DHCP servers\s+ok/m)
    expect(r.out).toContain('ready.')
    expect(r.code).toBe(0)
  })

  it('fails a missing address, and a busy port naming it', async () => {
    const missing = await run(['--address', '10.60.0.1/24', '--wait', '300'])
    expect(missing.code).toBe(1)
    expect(missing.out).toMatch(/^link\s+FAIL\s+c7l\d+ does not have 10\.60\.0\.1\/24/m)
    const holder = net.lab.spawn([
      process.execPath,
      '-e',
      "require('dgram').createSocket('udp4').bind(53, '10.50.0.1', () => console.log('bound'))",
    ])
    try {
      await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()))
      const busy = await run(['--address', '10.50.0.1/24', '--wait', '300', '--json'])
      expect(busy.code).toBe(1)
      const report = JSON.parse(busy.out) as {
        ok: boolean
        checks: { name: string; status: string; detail: string }[]
      }
      expect(report.ok).toBe(false)
      expect(report.checks.find((c) => c.name === 'port 53/udp')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('in use on 10.50.0.1'),
      })
      expect(report.checks.find((c) => c.name === 'port 53/tcp')?.status).toBe('ok')
    } finally {
      holder.kill('SIGTERM')
    }
  })

  it.skipIf(dnsmasq.skip)('fails when another DHCP server (dnsmasq) answers on the segment', async () => {
    await using _rogue = await rogueDnsmasq(net, dnsmasq.path!, dir)
    const r = await run(['--address', '10.50.0.1/24', '--wait', '5000'])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(
      /^other DHCP servers\s+FAIL\s+answering on c7l\d+: 10\.50\.0\.2 \(offered 10\.50\.0\.1(5\d|60)\)/m,
    )
  })
})
