import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseDocument } from 'yaml'
import { LabClient, type DnsRecordView } from '../lab/client/index.js'
import { defaultScenarioPath } from '../lab/paths.js'
import { median, result } from './report.js'
import { rssMb, startLabProcess, stopProcess, which } from './process.js'

/**
 * Queries per second from dnsperf against the lab's DNS (journal on, as in use) and against dnsmasq serving
 * the same records on loopback, alternating, N rounds each; prints both medians and the ratio lab/peer.
 * The query mix is what a booting CX700 asks most: two SRV, two A and one NXDOMAIN.
 */
const QUERIES = [
  '_sipinternaltls._tcp.contoso.test SRV',
  '_ldap._tcp.dc._msdcs.corp.contoso.test SRV',
  'sip.contoso.test A',
  'autodiscover.contoso.test A',
  'nothere.contoso.test A',
]

/** dnsmasq options that serve the same records as the lab (A, SRV, PTR; the lab's zones as local). */
function dnsmasqArgs(records: readonly DnsRecordView[], port: number, zones: readonly string[]): string[] {
  const args = [
    '--keep-in-foreground',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--local-ttl=300',
    '--pid-file=',
  ]
  for (const z of zones) args.push(`--local=/${z}/`)
  for (const r of records) {
    const v = r.value.replace(/\.$/, '')
    if (r.type === 'A') args.push(`--host-record=${r.name},${v}`)
    else if (r.type === 'SRV') {
      const [prio, weight, p, target] = v.split(' ')
      args.push(`--srv-host=${r.name},${target},${p},${prio},${weight}`)
    } else if (r.type === 'PTR') args.push(`--ptr-record=${r.name},${v}`)
  }
  return args
}

function dnsperf(port: number, file: string, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'dnsperf',
      ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-c', '4', '-q', '500'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.once('exit', () => {
      const m = /Queries per second:\s+([\d.]+)/.exec(out)
      if (m) resolve(Number(m[1]))
      else reject(new Error(`dnsperf printed no rate:\n${out}`))
    })
  })
}

/** The embedded default scenario with `servers.dns.workers` set, written to `file`. */
function withWorkers(file: string, workers: number): string {
  const doc = parseDocument(readFileSync(defaultScenarioPath(), 'utf8'))
  doc.setIn(['servers', 'dns', 'workers'], workers)
  writeFileSync(file, doc.toString())
  return file
}

async function udpPort(client: LabClient): Promise<number> {
  return (await client.endpoints()).endpoints.find((e) => e.server === 'dns' && e.transport === 'udp')!.port
}

/**
 * `BENCH_DNS_WORKERS=N` adds a third side: a second lab whose DNS has N UDP pump threads
 * (`servers.dns.workers`), in the same rounds: `workers_lab` and `workers_ratio` (its rate over dnsmasq's).
 */
export async function dns(rounds = 3, seconds = Number(process.env.BENCH_SECONDS ?? 5)): Promise<void> {
  const workers = Number(process.env.BENCH_DNS_WORKERS ?? 0)
  for (const t of ['dnsperf', 'dnsmasq']) {
    if (!which(t))
      throw new Error(`${t} is not installed (apt-get install ${t === 'dnsmasq' ? 'dnsmasq-base' : t})`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'cx700-bench-dns-'))
  let lab: Awaited<ReturnType<typeof startLabProcess>> | undefined
  let pumped: Awaited<ReturnType<typeof startLabProcess>> | undefined
  let peer: ChildProcess | undefined
  try {
    lab = await startLabProcess(join(dir, 'state'))
    const client = new LabClient(lab.adminUrl)
    const labPort = await udpPort(client)
    let pumpedPort: number | undefined
    if (workers > 0) {
      pumped = await startLabProcess(join(dir, 'state-workers'), [
        withWorkers(join(dir, 'workers.yaml'), workers),
      ])
      pumpedPort = await udpPort(new LabClient(pumped.adminUrl))
    }
    const { records } = await client.dnsRecords()
    const queries = join(dir, 'queries.txt')
    writeFileSync(queries, QUERIES.join('\n') + '\n')
    const peerPort = labPort + 1
    peer = spawn(
      'dnsmasq',
      dnsmasqArgs(records, peerPort, ['contoso.test', 'corp.contoso.test', 'windows.com']),
      {
        stdio: 'ignore',
      },
    )
    await dnsperf(peerPort, queries, 1) // warm both
    await dnsperf(labPort, queries, 1)
    if (pumpedPort !== undefined) await dnsperf(pumpedPort, queries, 1)
    const labRates: number[] = []
    const peerRates: number[] = []
    const pumpedRates: number[] = []
    for (let i = 0; i < rounds; i++) {
      labRates.push(await dnsperf(labPort, queries, seconds))
      peerRates.push(await dnsperf(peerPort, queries, seconds))
      if (pumpedPort !== undefined) pumpedRates.push(await dnsperf(pumpedPort, queries, seconds))
    }
    const l = median(labRates)
    const p = median(peerRates)
    console.log(`lab (cx700-lab, journal on): ${labRates.map(Math.round).join(', ')} q/s`)
    console.log(`peer (dnsmasq ${records.length} records):  ${peerRates.map(Math.round).join(', ')} q/s`)
    if (workers > 0)
      console.log(`lab with ${workers} UDP pump thread(s): ${pumpedRates.map(Math.round).join(', ')} q/s`)
    result('dns', {
      lab: Math.round(l),
      peer: Math.round(p),
      ratio: l / p,
      unit: 'q/s',
      rounds,
      seconds,
      // The lab's peak resident set over every round (the journal keeps what it served, bounded).
      rss_mb: rssMb(lab.child.pid!, 'VmHWM'),
      ...(pumped
        ? {
            workers,
            workers_lab: Math.round(median(pumpedRates)),
            workers_ratio: median(pumpedRates) / p,
            workers_rss_mb: rssMb(pumped.child.pid!, 'VmHWM'),
          }
        : {}),
    })
  } finally {
    if (peer) await stopProcess(peer)
    if (pumped) await pumped.stop()
    if (lab) await lab.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
