import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkedNetns, rogueDnsmasq, type LinkedNetns } from '../helpers/netns.js'
import { CLI } from '../helpers/process.js'
import { rootSkip, tool } from '../helpers/tools.js'

const ip = tool('ip', 'iproute2')
const dnsmasq = tool('dnsmasq', 'dnsmasq-base')
const arping = tool('arping', 'iputils-arping')
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

  it('passes a clean namespace (netns mode: the NIC holds the address, the lab binds it)', async () => {
    const r = await run(['--mode', 'netns', '--address', '10.50.0.1/24', '--wait', '300'])
    expect(r.out).toMatch(/^link\s+ok\s+c7l\d+ is up with 10\.50\.0\.1\/24/m)
    expect(r.out).toMatch(/^port 5061\/tcp\s+ok/m)
    expect(r.out).toMatch(/^other DHCP servers\s+ok/m)
    expect(r.out).toContain('ready.')
    expect(r.code).toBe(0)
  })

  it('fails a missing address, and a busy port naming it', async () => {
    const missing = await run(['--mode', 'netns', '--address', '10.60.0.1/24', '--wait', '300'])
    expect(missing.code).toBe(1)
    expect(missing.out).toMatch(/^link\s+FAIL\s+c7l\d+ does not have 10\.60\.0\.1\/24/m)
    const holder = net.lab.spawn([
      process.execPath,
      '-e',
      "require('dgram').createSocket('udp4').bind(53, '10.50.0.1', () => console.log('bound'))",
    ])
    try {
      await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()))
      const busy = await run(['--mode', 'netns', '--address', '10.50.0.1/24', '--wait', '300', '--json'])
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

  it.skipIf(arping.skip)(
    'interface mode: the NIC must leave the address to the lab, and nobody on the link may answer for it',
    async () => {
      // The NIC holds 10.50.0.1 (the advice the old preflight gave): interface mode says to take it off.
      const held = await run(['--address', '10.50.0.1/24', '--wait', '300'])
      expect(held.code).toBe(1)
      expect(held.out).toMatch(
        /^link\s+FAIL\s+c7l\d+ holds 10\.50\.0\.1\/24, which the lab takes on a macvlan/m,
      )
      expect(held.out).toContain(`ip addr del 10.50.0.1/24 dev ${net.labIf}`)
      // Another address is free on the link: nobody answers the RFC 5227 probe.
      const free = await run(['--address', '10.50.0.9/24', '--wait', '300'])
      expect(free.out).toMatch(/^link\s+ok\s+c7l\d+ is up and leaves 10\.50\.0\.9 to the lab/m)
      expect(free.out).toMatch(
        /^duplicate address\s+ok\s+no other device on c7l\d+ answers for 10\.50\.0\.9/m,
      )
      expect(free.out).not.toMatch(/^port /m)
      // A device on the link holds it: named by its MAC.
      await net.client.exec(['ip', 'addr', 'add', '10.50.0.9/24', 'dev', net.clientIf])
      try {
        const taken = await run(['--address', '10.50.0.9/24', '--wait', '300'])
        expect(taken.code).toBe(1)
        expect(taken.out).toMatch(
          /^duplicate address\s+FAIL\s+a device on c7l\d+ answers for 10\.50\.0\.9 \(MAC 00:04:f2:01:02:03\)/m,
        )
      } finally {
        await net.client.exec(['ip', 'addr', 'del', '10.50.0.9/24', 'dev', net.clientIf])
      }
    },
  )

  it.skipIf(dnsmasq.skip)('fails when another DHCP server (dnsmasq) answers on the segment', async () => {
    await using _rogue = await rogueDnsmasq(net, dnsmasq.path!, dir)
    const r = await run(['--mode', 'netns', '--address', '10.50.0.1/24', '--wait', '5000'])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(
      /^other DHCP servers\s+FAIL\s+answering on c7l\d+: 10\.50\.0\.2 \(offered 10\.50\.0\.1(5\d|60)\)/m,
    )
  })
})
