import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packageRoot } from '../lab/paths.js'
import { median, result } from './report.js'
import { startLabProcess, stopProcess, which } from './process.js'

/**
 * Leases per second: simulated clients with distinct MACs each do a full DORA (DISCOVER → OFFER → REQUEST →
 * ACK) against the lab and against dnsmasq, in the same pair of network namespaces (made here, removed
 * after), alternating rounds. The load generator runs in the client namespace as a relay agent (giaddr),
 * so both servers answer by unicast and nothing depends on broadcast delivery. dnsmasq runs with --no-ping
 * (the lab does not ping either) and a lease limit above the client count.
 */
const GENERATOR = `
import dgram from 'node:dgram'
import { decodeDhcp, encodeDhcp } from '${join(packageRoot(), 'dist', 'servers', 'dhcp', 'codec.js')}'
const [server, relay, countText, prefix] = process.argv.slice(2)
const count = Number(countText)
const s = dgram.createSocket('udp4')
await new Promise((r) => s.bind(67, relay, r))
const pending = new Map()
let done = 0
let next = 0
const seen = { discovers: 0, offers: 0, requests: 0, acks: 0, naks: 0, undecodable: 0 }
// A round that gets no lease soon, or does not end, says what it saw instead of hanging.
const giveUp = (why) => { console.log(JSON.stringify({ error: why, leases: done, ...seen })); process.exit(3) }
setTimeout(() => { if (done === 0) giveUp('no lease in 15 s') }, 15_000).unref()
setTimeout(() => giveUp('the round did not end in 90 s'), 90_000).unref()
const t0 = performance.now()
const base = { op: 1, htype: 1, hlen: 6, hops: 1, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: relay, sname: '', file: '' }
const mac = (i) => prefix + ':' + [(i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')
const send = (m) => { seen[m.options.get(53)[0] === 1 ? 'discovers' : 'requests']++; s.send(encodeDhcp(m), 67, server) }
const start = () => {
  if (next >= count) return
  const i = next++
  const xid = (Number.parseInt(prefix.replaceAll(':', ''), 16) * 65536 + i) >>> 0
  pending.set(xid, { i, at: performance.now() })
  send({ ...base, xid, chaddr: mac(i), options: new Map([[53, Uint8Array.of(1)]]) })
}
await new Promise((resolve) => {
  s.on('message', (b) => {
    let m
    try { m = decodeDhcp(b) } catch { seen.undecodable++; return }
    const p = pending.get(m.xid)
    if (!p) return
    const type = m.options.get(53)?.[0]
    if (type === 2) seen.offers++
    else if (type === 5) seen.acks++
    else if (type === 6) seen.naks++
    if (type === 2) send({ ...base, xid: m.xid, chaddr: mac(p.i), options: new Map([[53, Uint8Array.of(3)], [50, Uint8Array.from(m.yiaddr.split('.').map(Number))], [54, m.options.get(54)]]) })
    else if (type === 5) { pending.delete(m.xid); done++; if (done === count) resolve(); else start() }
  })
  // Retransmit what is stuck (a lost datagram) so a round always ends.
  setInterval(() => { const now = performance.now(); for (const [xid, p] of pending) if (now - p.at > 1000) { p.at = now; send({ ...base, xid, chaddr: mac(p.i), options: new Map([[53, Uint8Array.of(1)]]) }) } }, 250).unref()
  for (let k = 0; k < 64; k++) start()
})
console.log(JSON.stringify({ leases: done, seconds: (performance.now() - t0) / 1000 }))
s.close()
`

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' })
}

/**
 * Runs one round of the generator in the client namespace: leases/s, or an error with what the generator saw
 * (DISCOVERs sent, OFFERs, ACKs, NAKs) and `context()` — the serving side's own log — when it got no lease.
 */
function runGenerator(
  ns: string,
  script: string,
  count: number,
  prefix: string,
  context: () => string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, script, '10.50.0.1', '10.50.0.2', String(count), prefix],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      let r: { leases: number; seconds?: number; error?: string } | undefined
      try {
        r = JSON.parse(out) as typeof r
      } catch {
        // reported below
      }
      if (r?.seconds !== undefined && r.error === undefined) resolve(r.leases / r.seconds)
      else
        reject(
          new Error(
            `the load generator got ${r?.leases ?? 0} of ${count} leases from 10.50.0.1 ` +
              `(exit ${code ?? signal}): ${r?.error ?? 'no result'}\n` +
              `generator: ${out.trim() || '(no output)'} ${err.trim()}\n` +
              `server's last log lines:\n${context() || '(none)'}`,
          ),
        )
    })
  })
}

/** The pair of namespaces a run uses, joined by a veth: the server's side and the clients'. */
interface BenchNet {
  dir: string
  labNs: string
  cliNs: string
  labIf: string
  script: string
  scenario: string
}

function netNames(dir: string): BenchNet {
  const labIf = `c7bl${process.pid % 10000}`
  const script = join(dir, 'generator.mjs')
  const scenario = join(dir, 'bench.yaml')
  return { dir, labNs: `cx7b-lab-${process.pid}`, cliNs: `cx7b-cli-${process.pid}`, labIf, script, scenario }
}

/** Makes the namespaces and the veth between them, and writes the generator and the lab's scenario. */
function makeNet({ labNs, cliNs, labIf, script, scenario }: BenchNet): void {
  const cliIf = `c7bc${process.pid % 10000}`
  ip(['netns', 'add', labNs])
  ip(['netns', 'add', cliNs])
  ip(['link', 'add', labIf, 'type', 'veth', 'peer', 'name', cliIf])
  ip(['link', 'set', labIf, 'netns', labNs])
  ip(['link', 'set', cliIf, 'netns', cliNs])
  ip(['-n', labNs, 'addr', 'add', '10.50.0.1/16', 'dev', labIf])
  ip(['-n', cliNs, 'addr', 'add', '10.50.0.2/16', 'dev', cliIf])
  for (const [ns, dev] of [
    [labNs, labIf],
    [cliNs, cliIf],
    [labNs, 'lo'],
    [cliNs, 'lo'],
  ] as const)
    ip(['-n', ns, 'link', 'set', dev, 'up'])
  writeFileSync(script, GENERATOR)
  writeFileSync(scenario, benchScenario(labIf))
}

function benchScenario(labIf: string): string {
  return `version: 1
name: bench-dhcp
site: { sipDomain: contoso.test, subnet: 10.50.0.0/16 }
servers:
  dns: { enabled: false }
  ntp: { enabled: false }
  ldap: { enabled: false }
  dhcp: { interface: ${labIf}, listen: { port: 67 }, allow: [any], rogueCheck: false, pool: { start: 10.50.1.1, end: 10.50.250.254 } }
`
}

/** Kills whatever still runs in the namespaces (by the PIDs they hold), then removes them. */
function removeNet(net: BenchNet): void {
  for (const ns of [net.labNs, net.cliNs]) {
    try {
      execFileSync('ip', ['netns', 'pids', ns])
        .toString()
        .split(/\s+/)
        .filter(Boolean)
        .forEach((pid) => process.kill(Number(pid), 'SIGKILL'))
    } catch {
      // gone already
    }
    try {
      ip(['netns', 'del', ns])
    } catch {
      // gone already
    }
  }
}

const macPrefix = (round: number, side: 'aa' | 'bb'): string =>
  `02:00:${round.toString(16).padStart(2, '0')}:${side}`

async function labRound(net: BenchNet, round: number, clients: number): Promise<number> {
  const lab = await startLabProcess(
    join(net.dir, `state-${round}`),
    [net.scenario, '--mode', 'netns'],
    undefined,
    (argv) => spawn('ip', ['netns', 'exec', net.labNs, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }),
  )
  try {
    return await runGenerator(net.cliNs, net.script, clients, macPrefix(round, 'aa'), () => lab.logTail())
  } finally {
    await lab.stop()
  }
}

function startDnsmasq(net: BenchNet, round: number): ChildProcess {
  const leases = join(net.dir, `dnsmasq-${round}.leases`)
  const argv = [
    which('dnsmasq')!,
    '--keep-in-foreground',
    '--port=0',
    `--interface=${net.labIf}`,
    '--bind-interfaces',
    '--no-ping',
    '--dhcp-range=10.50.1.1,10.50.250.254,255.255.0.0,1h',
    '--dhcp-lease-max=200000',
    `--dhcp-leasefile=${leases}`,
    '--pid-file=',
    '--quiet-dhcp',
  ]
  return spawn('ip', ['netns', 'exec', net.labNs, ...argv], { stdio: 'ignore' })
}

async function peerRound(net: BenchNet, round: number, clients: number): Promise<number> {
  const peer = startDnsmasq(net, round)
  try {
    await new Promise((r) => setTimeout(r, 500)) // dnsmasq binds at once; no readiness line to wait for
    return await runGenerator(
      net.cliNs,
      net.script,
      clients,
      macPrefix(round, 'bb'),
      () => '(dnsmasq runs with --quiet-dhcp)',
    )
  } finally {
    await stopProcess(peer)
  }
}

export async function dhcp(rounds = 3, clients = 3000): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/dhcp makes network namespaces: run it as root')
  if (!which('dnsmasq')) throw new Error('dnsmasq is not installed (apt-get install dnsmasq-base)')
  const dir = mkdtempSync(join(tmpdir(), 'cx700-bench-dhcp-'))
  const net = netNames(dir)
  try {
    makeNet(net)
    let round = 0
    await labRound(net, round++, clients) // warm both
    await peerRound(net, round++, clients)
    const labRates: number[] = []
    const peerRates: number[] = []
    for (let i = 0; i < rounds; i++) {
      labRates.push(await labRound(net, round++, clients))
      peerRates.push(await peerRound(net, round++, clients))
    }
    const l = median(labRates)
    const p = median(peerRates)
    console.log(`lab (cx700-lab, journal on): ${labRates.map(Math.round).join(', ')} leases/s`)
    console.log(`peer (dnsmasq):              ${peerRates.map(Math.round).join(', ')} leases/s`)
    result('dhcp', {
      lab: Math.round(l),
      peer: Math.round(p),
      ratio: l / p,
      unit: 'leases/s',
      clients,
      rounds,
    })
  } finally {
    removeNet(net)
    rmSync(dir, { recursive: true, force: true })
  }
}
