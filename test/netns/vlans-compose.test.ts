import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FleetRow } from '../../lab/fleet/status.js'
import { packageRoot } from '../../lab/paths.js'
import type { PhoneReport } from '../../phone/emulator.js'
import { containerSkip, ensureTestImage, PODMAN_CONF, TEST_IMAGE } from '../helpers/image.js'
import { createNetns, veth, type Netns } from '../helpers/netns.js'
import { CLI } from '../helpers/process.js'
import { rootSkip, tool } from '../helpers/tools.js'

const run = promisify(execFile)
const compose = tool('podman-compose', 'podman-compose')
const tshark = tool('tshark', 'tshark')
const skip = rootSkip() ?? containerSkip ?? compose.skip
const ROOT = packageRoot()
const VLANS = [
  { id: 10, mac: '00:04:f2:00:10:01' },
  { id: 20, mac: '00:04:f2:00:20:01' },
] as const
const tag = `cx7t${process.pid}`
const TOKENS = { CX700_VLAN10_TOKEN: `${tag}-ten`, CX700_VLAN20_TOKEN: `${tag}-twenty` }
const network = (id: number): string => `${tag}-vlan${id}`
/** Link names of the test's own (veth pairs are made in the machine's namespace before they are moved). */
const n = process.pid % 10000
const LINK = {
  trunkHost: `tr${n}h`,
  trunkSwitch: `tr${n}s`,
  phone: (id: number) => `pp${n}${id}`,
  phonePort: (id: number) => `ph${n}${id}`,
  station: (id: number) => `sa${n}${id}`,
  stationPort: (id: number) => `sp${n}${id}`,
}

/** The network compose.yaml's header and the README tell the operator to make for a VLAN. */
const networkCreate = (parent: string, id: number, name: string): string[] => [
  'podman',
  'network',
  'create',
  '-d',
  'macvlan',
  '-o',
  `parent=${parent}`,
  '--subnet',
  `10.${id}.0.0/24`,
  '--gateway',
  `10.${id}.0.254`,
  '--ip-range',
  `10.${id}.0.1/32`,
  name,
]

/** The README's commands for one host with a lab per VLAN, one line each (continuations joined). */
function readmeCommands(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Many lab networks: one host, one lab per VLAN'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ''
  return block
    .replace(/\\\n\s*/g, '')
    .replace(/ +#.*$/gm, '')
    .replace(/ +/g, ' ')
}

/**
 * The lab host, the phones' switch, a phone on each VLAN and a station on both, joined as a site joins
 * them: one trunk (a veth pair) between the host and the switch carries both VLANs, each frame tagged with
 * its VLAN. This kernel has no 802.1Q (CONFIG_VLAN_8021Q, bridge VLAN filtering and tc's vlan action are all
 * off), so the tag is a VXLAN network identifier on the trunk: on the host one VXLAN device per VLAN stands
 * where a host with 802.1Q has eth1.10 (the macvlan parent compose.yaml's header names); on the switch each
 * VLAN is a bridge with its access ports.
 */
interface Site {
  readonly host: Netns
  readonly switch: Netns
  readonly station: Netns
  readonly phones: readonly Netns[]
}

async function ip(ns: Netns, ...args: string[]): Promise<void> {
  const r = await ns.exec(['ip', ...args])
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} in ${ns.name}: ${r.stderr}`)
}

/** The site's namespaces, made first: whatever happens after, disposal removes them and the links in them. */
async function namespaces(): Promise<Site> {
  const [host, sw, station, ...phones] = await Promise.all([1, 2, 3, 4, 5].map(() => createNetns()))
  return { host: host!, switch: sw!, station: station!, phones }
}

/** The trunk, with room for the tag (the VLANs carry full 1500-octet frames), and a segment per VLAN on it. */
async function trunk(site: Site): Promise<void> {
  await veth(site.host, LINK.trunkHost, site.switch, LINK.trunkSwitch)
  const ends = [
    { ns: site.host, dev: LINK.trunkHost, local: '192.0.2.1', remote: '192.0.2.2', prefix: 'v' },
    { ns: site.switch, dev: LINK.trunkSwitch, local: '192.0.2.2', remote: '192.0.2.1', prefix: 's' },
  ]
  for (const e of ends) {
    await ip(e.ns, 'link', 'set', e.dev, 'mtu', '1600')
    await ip(e.ns, 'addr', 'add', `${e.local}/30`, 'dev', e.dev)
    for (const { id } of VLANS) {
      const dev = `${e.prefix}${id}`
      await ip(
        e.ns,
        'link',
        'add',
        dev,
        'type',
        'vxlan',
        'id',
        String(id),
        'dstport',
        '4789',
        'local',
        e.local,
        'remote',
        e.remote,
        'dev',
        e.dev,
      )
      await ip(e.ns, 'link', 'set', dev, 'up')
    }
  }
}

/** On the switch, each VLAN a bridge: the trunk's segment, the VLAN's phone, and the station. */
async function accessPorts(site: Site): Promise<void> {
  for (const [i, { id, mac }] of VLANS.entries()) {
    const phone = site.phones[i]!
    mkdirSync(`/etc/netns/${phone.name}`, { recursive: true })
    writeFileSync(`/etc/netns/${phone.name}/resolv.conf`, '')
    await ip(site.switch, 'link', 'add', `b${id}`, 'type', 'bridge')
    await ip(site.switch, 'link', 'set', `b${id}`, 'up')
    await ip(site.switch, 'link', 'set', `s${id}`, 'master', `b${id}`)
    await veth(site.switch, LINK.phonePort(id), phone, LINK.phone(id), mac)
    await ip(site.switch, 'link', 'set', LINK.phonePort(id), 'master', `b${id}`)
    await veth(site.switch, LINK.stationPort(id), site.station, LINK.station(id))
    await ip(site.switch, 'link', 'set', LINK.stationPort(id), 'master', `b${id}`)
    await ip(site.station, 'addr', 'add', `10.${id}.0.250/24`, 'dev', LINK.station(id))
  }
}

/** A command in the lab host's namespace (nsenter, unlike ip netns exec, keeps the machine's /sys and cgroups). */
function onHost(site: Site, args: string[], env: NodeJS.ProcessEnv = {}) {
  return run('nsenter', [`--net=/run/netns/${site.host.name}`, ...args], {
    env: { ...process.env, ...env },
    timeout: 120_000,
  })
}

/** tshark on the switch's end of the trunk, writing `file`; `stop` ends it (SIGINT) and waits for it. */
function startCapture(site: Site, file: string): { ready: Promise<void>; stop: () => Promise<void> } {
  const child = site.switch.spawn([
    tshark.path!,
    '-n',
    '-i',
    LINK.trunkSwitch,
    '-f',
    'udp port 4789',
    '-w',
    file,
  ])
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      if (d.toString().includes('Capturing on')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`tshark exited (${code})`)))
  })
  const stop = async (): Promise<void> => {
    const gone = new Promise((r) => child.once('exit', r))
    child.kill('SIGINT')
    await gone
  }
  return { ready, stop }
}

describe.skipIf(skip)(`one lab per VLAN from compose.yaml with podman-compose (${skip ?? 'root'})`, () => {
  let site: Site | undefined
  const dir = mkdtempSync(join(tmpdir(), 'cx700-vlans-'))
  const env: NodeJS.ProcessEnv = {
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CX700_IMAGE: TEST_IMAGE,
    CX700_VLAN10_NETWORK: network(10),
    CX700_VLAN20_NETWORK: network(20),
    ...TOKENS,
  }
  const composeArgs = ['-p', tag, '-f', join(ROOT, 'compose.yaml')]

  beforeAll(async () => {
    ensureTestImage()
    writeFileSync(join(dir, 'containers.conf'), PODMAN_CONF)
    site = await namespaces()
    await trunk(site)
    await accessPorts(site)
    // The networks compose.yaml names, made as its header says (parent: the VLAN's device on the host).
    for (const { id } of VLANS) await onHost(site, networkCreate(`v${id}`, id, network(id)))
    await onHost(site, [compose.path!, ...composeArgs, 'up', '-d'], env)
  }, 600_000)

  afterAll(async () => {
    if (site !== undefined) {
      await onHost(site, [compose.path!, ...composeArgs, 'down', '-v'], env).catch(() => undefined)
      for (const { id } of VLANS) {
        await onHost(site, ['podman', 'network', 'rm', '-f', network(id)]).catch(() => undefined)
        rmSync(`/var/lib/cni/networks/${network(id)}`, { recursive: true, force: true })
      }
      for (const ns of [...site.phones, site.station, site.switch, site.host]) {
        rmSync(`/etc/netns/${ns.name}`, { recursive: true, force: true })
        await ns[Symbol.asyncDispose]()
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }, 120_000)

  /** `cx700-lab fleet deploy/compose/fleet.yaml --json` from the station on both VLANs, with the labs' tokens. */
  const fleet = async (): Promise<FleetRow[]> => {
    const tokens = Object.entries(TOKENS).map(([k, v]) => `${k}=${v}`)
    const file = join(ROOT, 'deploy', 'compose', 'fleet.yaml')
    const r = await site!.station.exec(['env', ...tokens, process.execPath, CLI, 'fleet', file, '--json'], {
      timeoutMs: 30_000,
    })
    return (JSON.parse(r.stdout) as { labs: FleetRow[] }).labs
  }

  const boot = async (i: number): Promise<PhoneReport> => {
    const { id, mac } = VLANS[i]!
    const r = await site!.phones[i]!.exec(
      [
        process.execPath,
        CLI,
        'phone',
        '--direct',
        '--interface',
        LINK.phone(id),
        '--mac',
        mac,
        '--state',
        join(dir, `phone-${id}`),
        '--json',
      ],
      { timeoutMs: 60_000 },
    )
    return JSON.parse(r.stdout) as PhoneReport
  }

  it('runs the commands the README shows, with this site’s VLAN devices and names of the test’s own', () => {
    const commands = readmeCommands()
    expect(commands).toContain(networkCreate('eth1.10', 10, 'cx700-vlan10').join(' '))
    expect(commands).toContain('podman-compose up -d')
    expect(commands).toContain('npx cx700-lab fleet deploy/compose/fleet.yaml')
  })

  it('boots a phone on each VLAN from its own lab; the fleet view shows both signed in; no lab answered the other VLAN', async () => {
    // The labs are up when both admin APIs answer healthy (asked a bounded number of times, each bounded).
    let rows: FleetRow[] = []
    for (let i = 0; i < 60 && !(rows.length === 2 && rows.every((r) => r.healthy === true)); i++)
      rows = await fleet()
    expect(rows.map((r) => [r.name, r.scenario, r.healthy])).toEqual([
      ['vlan-10', 'vlan-10', true],
      ['vlan-20', 'vlan-20', true],
    ])

    const capture = tshark.path ? startCapture(site!, join(dir, 'trunk.pcapng')) : undefined
    await capture?.ready
    const reports = await Promise.all(VLANS.map((_, i) => boot(i)))
    await capture?.stop()
    VLANS.forEach(({ id }, i) => {
      expect(reports[i]!.endState).toBe('signed-in')
      expect(reports[i]!.learnt.address).toMatch(new RegExp(`^10\\.${id}\\.0\\.\\d+$`))
    })

    // The fleet view: both labs, each with its own phone signed in and no other.
    rows = await fleet()
    expect(rows.map((r) => [r.name, r.phones.map((p) => [p.key, p.signedIn])])).toEqual([
      ['vlan-10', [[`mac:${VLANS[0].mac}`, true]]],
      ['vlan-20', [[`mac:${VLANS[1].mac}`, true]]],
    ])
    if (tshark.path) {
      // On the trunk each DHCP offer and ack went out tagged with the VLAN of the lab that sent it (its server
      // identifier, option 54), and nothing answered on a VLAN but that VLAN's lab.
      const read = await run(
        tshark.path,
        [
          '-n',
          '-r',
          join(dir, 'trunk.pcapng'),
          '-Y',
          'dhcp.option.dhcp == 2 || dhcp.option.dhcp == 5',
          '-T',
          'fields',
          '-e',
          'vxlan.vni',
          '-e',
          'dhcp.option.dhcp',
          '-e',
          'dhcp.option.dhcp_server_id',
        ],
        { timeout: 60_000 },
      )
      expect([...new Set(read.stdout.trim().split('\n'))].sort()).toEqual([
        '10\t2\t10.10.0.1',
        '10\t5\t10.10.0.1',
        '20\t2\t10.20.0.1',
        '20\t5\t10.20.0.1',
      ])
    }
  }, 300_000)
})
