import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNetns, veth, type Netns } from '../helpers/netns.js'
import { interfaceModeNames } from '../../cli/interface.js'
import { CLI, spawnLab } from '../helpers/process.js'
import { rootSkip, tool } from '../helpers/tools.js'

const ip = tool('ip', 'iproute2')
const busybox = tool('busybox', 'busybox')
const dhclient = tool('dhclient', 'isc-dhcp-client')
const arping = tool('arping', 'iputils-arping')
const skip = rootSkip() ?? ip.skip ?? busybox.skip ?? dhclient.skip ?? arping.skip

/**
 * Interface mode as a QA engineer runs it for real phones, with namespaces of the test's own standing in
 * for the machines: a "host" whose veth plays the NIC the phones are on, a phone on that link, and another
 * client on a second link of the host. The lab makes its own namespace with a macvlan of the NIC.
 */
describe.skipIf(skip)(`interface mode in network namespaces (${skip ?? 'root'})`, () => {
  let host: Netns
  let phone: Netns
  let other: Netns
  let dir: string
  const nic = `c7n${process.pid % 10000}`

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cx700-iface-'))
    host = await createNetns()
    phone = await createNetns()
    other = await createNetns()
    await veth(host, nic, phone, `c7p${process.pid % 10000}`, '00:04:f2:0a:0b:0c')
    await veth(host, `c7o${process.pid % 10000}`, other, `c7q${process.pid % 10000}`, '00:04:f2:0a:0b:0d')
    await host.exec(['ip', 'addr', 'add', '192.168.77.1/24', 'dev', `c7o${process.pid % 10000}`])
    for (const ns of [phone, other]) {
      mkdirSync(`/etc/netns/${ns.name}`, { recursive: true })
      writeFileSync(`/etc/netns/${ns.name}/resolv.conf`, '')
    }
    writeFileSync(
      join(dir, 'dhclient-hook.sh'),
      `#!/bin/sh\n[ "$reason" = BOUND ] && echo "ip=$new_ip_address domain=$new_domain_name" >> ${dir}/dhclient.out\nexit 0\n`,
      { mode: 0o755 },
    )
    writeFileSync(
      join(dir, 'hook.sh'),
      `#!/bin/sh\n[ "$1" = bound ] && echo "ip=$ip domain=$domain" >> "$OUT"\nexit 0\n`,
      { mode: 0o755 },
    )
    writeFileSync(
      join(dir, 'hw.yaml'),
      'version: 1\nname: hw\nsite: { sipDomain: contoso.test }\nservers:\n  dhcp: { rogueWaitMs: 500 }\n',
    )
  })

  afterAll(async () => {
    for (const ns of [phone, other]) if (ns) rmSync(`/etc/netns/${ns.name}`, { recursive: true, force: true })
    await phone?.[Symbol.asyncDispose]()
    await other?.[Symbol.asyncDispose]()
    await host?.[Symbol.asyncDispose]()
    rmSync(dir, { recursive: true, force: true })
  })

  const udhcpc = async (ns: Netns, ifname: string, out: string): Promise<string> => {
    rmSync(out, { force: true })
    await ns.exec(
      [
        'env',
        `OUT=${out}`,
        busybox.path!,
        'udhcpc',
        '-i',
        ifname,
        '-f',
        '-q',
        '-n',
        '-t',
        '3',
        '-T',
        '2',
        '-s',
        join(dir, 'hook.sh'),
      ],
      { timeoutMs: 30_000 },
    )
    return existsSync(out) ? readFileSync(out, 'utf8') : ''
  }

  const runDhclient = async (ns: Netns, ifname: string): Promise<string> => {
    const out = join(dir, 'dhclient.out')
    rmSync(out, { force: true })
    const child = ns.spawn([
      dhclient.path!,
      '-1',
      '-d',
      '-sf',
      join(dir, 'dhclient-hook.sh'),
      '-lf',
      join(dir, 'd.leases'),
      '-pf',
      join(dir, 'd.pid'),
      ifname,
    ])
    try {
      await expect.poll(() => existsSync(out), { timeout: 20_000, interval: 100 }).toBe(true)
      return readFileSync(out, 'utf8')
    } finally {
      child.kill('SIGTERM')
    }
  }

  it('serves a phone on the named NIC on standard ports, answers nothing on another link, and cleans up', async () => {
    const lab = await spawnLab(
      [
        join(dir, 'hw.yaml'),
        '--mode',
        'interface',
        '--interface',
        nic,
        '--address',
        '10.50.0.1/24',
        '--admin',
        '127.0.0.1:0',
        '--state',
        join(dir, 'state'),
      ],
      {
        spawner: (argv) => host.spawn(argv),
      },
    )
    const namespace = (lab.ready as unknown as { namespace: string }).namespace
    try {
      expect(lab.ready.endpoints.find((e) => e.name === 'dhcp')).toMatchObject({
        address: '10.50.0.1',
        port: 67,
      })
      expect(lab.ready.endpoints.find((e) => e.name === 'ldap')).toMatchObject({
        address: '10.50.0.1',
        port: 389,
      })
      expect(await runDhclient(phone, `c7p${process.pid % 10000}`)).toMatch(
        /^ip=10\.50\.0\.1\d\d domain=contoso\.test$/m,
      )
      expect(await udhcpc(other, `c7q${process.pid % 10000}`, join(dir, 'other.out'))).toBe('')
      // The admin API is on the host's loopback (proxied into the lab's namespace).
      const endpoints = await host.exec([
        process.execPath,
        CLI,
        'endpoints',
        '--json',
        '--admin',
        lab.ready.adminUrl,
      ])
      expect(JSON.parse(endpoints.stdout)).toMatchObject({ mode: 'netns' })
      expect((await host.exec(['ip', 'netns', 'list'])).stdout).toContain(namespace)
    } finally {
      await lab[Symbol.asyncDispose]()
    }
    expect(await lab.exited).toBe(0)
    expect((await host.exec(['ip', 'netns', 'list'])).stdout).not.toContain(namespace)
  }, 90_000)

  const upInterface = (address: string) =>
    host.exec(
      [
        process.execPath,
        CLI,
        'up',
        join(dir, 'hw.yaml'),
        '--mode',
        'interface',
        '--interface',
        nic,
        '--address',
        address,
        '--admin',
        '127.0.0.1:0',
        '--state',
        join(dir, 'state-dup'),
      ],
      { timeoutMs: 30_000 },
    )

  it('refuses to start when the address has another owner on the link or on the NIC, naming it', async () => {
    const phoneIf = `c7p${process.pid % 10000}`
    // A device on the link (the "phone" here) holds the lab's address: the RFC 5227 probe finds its MAC.
    await phone.exec(['ip', 'addr', 'add', '10.50.0.1/24', 'dev', phoneIf])
    try {
      const r = await upInterface('10.50.0.1/24')
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`another device on ${nic} answers for 10.50.0.1 (MAC 00:04:f2:0a:0b:0c`)
    } finally {
      await phone.exec(['ip', 'addr', 'del', '10.50.0.1/24', 'dev', phoneIf])
    }
    // The host's own NIC holds it (what the old preflight advised): refused, with the command that fixes it.
    await host.exec(['ip', 'addr', 'add', '10.50.0.1/24', 'dev', nic])
    try {
      const r = await upInterface('10.50.0.1/24')
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`${nic} itself holds 10.50.0.1`)
      expect(r.stderr).toContain(`ip addr del 10.50.0.1/24 dev ${nic}`)
    } finally {
      await host.exec(['ip', 'addr', 'del', '10.50.0.1/24', 'dev', nic])
    }
    // Nothing is left behind: no namespace of the lab's.
    const { namespace } = interfaceModeNames(nic)
    expect((await host.exec(['ip', 'netns', 'list'])).stdout).not.toContain(namespace)
  }, 60_000)

  it('needs --address in interface mode: a usage error, exit 2', async () => {
    const r = await host.exec([
      process.execPath,
      CLI,
      'up',
      join(dir, 'hw.yaml'),
      '--mode',
      'interface',
      '--interface',
      nic,
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('interface mode needs --address')
  })
})
