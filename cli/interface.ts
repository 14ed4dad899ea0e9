import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { LabError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { isLoopbackHost } from '../lab/admin/server.js'
import { hostHolds, probeAddress } from '../lab/duplicate-address.js'
import type { Endpoint } from '../lab/runtime.js'
import { endpointTable } from './args.js'

const run = promisify(execFile)

export interface InterfaceModeOptions {
  readonly file: string
  readonly stateDir: string
  /** The NIC the phones are on. */
  readonly iface: string
  /** The lab's address on that segment, A.B.C.D/N. */
  readonly address: string
  /** Where the admin API is offered on the host (loopback unless told otherwise). */
  readonly admin: { readonly host: string; readonly port: number }
  readonly token?: string
  readonly json: boolean
  readonly watch: boolean
  readonly logger: Logger
}

/** Names that fit Linux's 15-character limit and are stable per NIC, so a second lab on the NIC is caught. */
export function interfaceModeNames(iface: string): { namespace: string; link: string } {
  const tag = createHash('sha1').update(iface).digest('hex').slice(0, 8)
  return { namespace: `cx700-${iface.replace(/[^A-Za-z0-9_.-]/g, '_')}`, link: `cx7m${tag}` }
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args)
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr?.trim() ?? (cause as Error).message
    throw new LabError(
      'LAB_ERR_LAB_STATE',
      `Failed to set up interface mode: ip ${args.join(' ')}: ${stderr}.`,
      { cause },
    )
  }
}

/** Whatever stops a started interface mode undoes it: the proxy, the namespace (and its macvlan), the socket. */
type Cleanup = () => Promise<void>

type Ready = { event: string; endpoints: Endpoint[]; runDir: string; journal: string; scenario: string }

/**
 * Interface mode: every server on the phones' link, on standard ports, with DHCP confined to that link.
 * Node cannot bind a socket to one device, so the lab runs inside a network namespace of its own that holds
 * only a macvlan of the NIC (bridge mode: the phones see the lab's own MAC and address); in there it is an
 * ordinary netns-mode lab whose DHCP may answer only on that macvlan. The admin API stays on the host: this
 * process proxies host:port to the lab's unix socket. SIGINT/SIGTERM stop the lab and remove the namespace
 * (and with it the macvlan).
 */
export async function runInterfaceMode(o: InterfaceModeOptions): Promise<number> {
  const { namespace, link } = interfaceModeNames(o.iface)
  await checkCanStart(o.iface, namespace)
  const socketDir = join(o.stateDir, 'interface')
  mkdirSync(socketDir, { recursive: true, mode: 0o700 })
  const socket = join(socketDir, `${namespace}.sock`)
  rmSync(socket, { force: true })
  const proxy = adminProxy(socket)
  const cleanup: Cleanup = async () => {
    await new Promise((r) => (proxy.listening ? proxy.close(r) : r(undefined)))
    await run('ip', ['netns', 'del', namespace]).catch(() => undefined)
    rmSync(socket, { force: true })
  }
  await makeNamespace(o, namespace, link).catch(async (err: unknown) => {
    await cleanup()
    throw err
  })
  const token = await interfaceAdminToken(o.admin.host, o.token)
  const lab = startLab(o, namespace, link, socket, token)
  const ready = await lab.ready
  if (!ready) {
    await cleanup()
    return 1
  }
  const adminUrl = await offerAdmin(proxy, o).catch(async (err: unknown) => {
    lab.child.kill('SIGTERM')
    await lab.exited
    await cleanup()
    throw err
  })
  process.stdout.write(banner(o, ready, adminUrl, namespace, token))
  return untilStopped(lab, cleanup, o.logger)
}

/**
 * The token the lab in the namespace must require. Its admin API listens on a unix socket, which needs none of
 * its own, but this process offers that socket on `--admin HOST:PORT`: beyond loopback the phones' network
 * (and anyone on it) reaches it, so the lab then requires a token as it does on any non-loopback address.
 */
export async function interfaceAdminToken(
  host: string,
  given: string | undefined,
): Promise<string | undefined> {
  if (given !== undefined) return given
  return (await isLoopbackHost(host)) ? undefined : randomBytes(18).toString('base64url')
}

/** Root, and no other lab on this NIC (its namespace would exist). */
async function checkCanStart(iface: string, namespace: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new LabError(
      'LAB_ERR_LAB_STATE',
      'Failed to start interface mode: it makes a network namespace and a macvlan, which needs root. Run it with sudo (cx700-lab preflight tells what else is missing).',
    )
  }
  const existing = (await run('ip', ['netns', 'list'])).stdout
  if (existing.split('\n').some((l) => l.split(' ')[0] === namespace)) {
    throw new LabError(
      'LAB_ERR_LAB_STATE',
      `Failed to start interface mode: namespace ${namespace} exists — another lab serves ${iface}. Stop it (or: ip netns del ${namespace}).`,
    )
  }
}

/** The admin API on the host: a TCP proxy to the lab's unix socket (the namespace has its own loopback). */
function adminProxy(socket: string): Server {
  return createServer((client) => {
    const upstream = connect({ path: socket })
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
}

/**
 * The lab's namespace, holding only a bridge-mode macvlan of the NIC with the lab's address, and loopback. The
 * address is taken only once nobody holds it: not the host on the NIC, not a device on the link.
 */
async function makeNamespace(o: InterfaceModeOptions, namespace: string, link: string): Promise<void> {
  await ip(['netns', 'add', namespace])
  await ip(['link', 'add', 'link', o.iface, 'name', link, 'type', 'macvlan', 'mode', 'bridge'])
  await ip(['link', 'set', link, 'netns', namespace])
  await ip(['-n', namespace, 'link', 'set', link, 'up'])
  await ip(['-n', namespace, 'link', 'set', 'lo', 'up'])
  await checkAddressFree(o, namespace, link)
  await ip(['-n', namespace, 'addr', 'add', o.address, 'dev', link])
}

/** Refuses the lab's address when the host holds it on the NIC or a device on the link answers for it. */
async function checkAddressFree(o: InterfaceModeOptions, namespace: string, link: string): Promise<void> {
  const address = o.address.split('/')[0]!
  const refuse = (why: string): never => {
    throw new LabError('LAB_ERR_LAB_STATE', `Failed to start interface mode: ${why}.`)
  }
  const host = hostHolds(o.iface, address)
  if (host)
    refuse(
      `${o.iface} itself holds ${address} (this host, MAC ${host.mac}); the lab takes that address on a macvlan of its own, and with two owners the phones' ARP finds the host. Remove it from the NIC: ip addr del ${o.address} dev ${o.iface}`,
    )
  const probe = await probeAddress(link, address, namespace)
  if (probe.kind === 'taken')
    refuse(
      `another device on ${o.iface} answers for ${address} (MAC ${probe.mac}, RFC 5227 probe); give the lab another address with --address, or take it off that device`,
    )
  if (probe.kind === 'unchecked')
    refuse(`cannot probe ${o.iface} for another holder of ${address}: ${probe.why}`)
}

/** The lab in the namespace (netns mode, DHCP on the macvlan, the admin API on the unix socket). */
function startLab(
  o: InterfaceModeOptions,
  namespace: string,
  link: string,
  socket: string,
  token: string | undefined,
): { child: ChildProcess; exited: Promise<number>; ready: Promise<Ready | undefined> } {
  const args = [process.argv[1]!, 'up', o.file, '--mode', 'netns', '--interface', link]
  args.push('--admin', `unix:${socket}`, '--state', o.stateDir, '--json', ...(o.watch ? ['--watch'] : []))
  if (token !== undefined) args.push('--token', token)
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)))
  const ready = new Promise<Ready | undefined>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as Ready
        if (msg.event === 'ready') resolve(msg)
      } catch {
        // a log line
      }
    })
    void exited.then(() => resolve(undefined))
  })
  return { child, exited, ready }
}

/** Listens on the host for the admin API; its URL. */
async function offerAdmin(proxy: Server, o: InterfaceModeOptions): Promise<string> {
  try {
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject)
      proxy.listen(o.admin.port, o.admin.host, () => resolve())
    })
  } catch (err) {
    throw new LabError(
      'LAB_ERR_SERVER_BIND',
      `Failed to offer the admin API on ${o.admin.host}:${o.admin.port}: ${(err as Error).message}. Use --admin HOST:PORT.`,
    )
  }
  const addr = proxy.address()
  return `http://${o.admin.host}:${typeof addr === 'object' && addr ? addr.port : o.admin.port}`
}

/** The ready line (--json) or the port map, with the lab's address where it listens on every address. */
function banner(
  o: InterfaceModeOptions,
  ready: Ready,
  adminUrl: string,
  namespace: string,
  token: string | undefined,
): string {
  const labIp = o.address.split('/')[0]!
  const endpoints = ready.endpoints.map((e) => ({
    ...e,
    address: e.address === '0.0.0.0' ? labIp : e.address,
  }))
  if (o.json)
    return (
      JSON.stringify({
        ...ready,
        pid: process.pid,
        adminUrl,
        endpoints,
        interface: o.iface,
        namespace,
        ...(token !== undefined ? { token } : {}),
      }) + '\n'
    )
  const table = endpointTable(endpoints, adminUrl)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
  return (
    `\n  cx700-lab — TEST LAB ONLY. Scenario "${ready.scenario}" on ${o.iface} (${o.address}; namespace ${namespace}).\n\n` +
    `${table}\n\n  Admin API: ${adminUrl}${token !== undefined ? `  (bearer token: ${token})` : ''}\n  Journal:   ${ready.journal}\n` +
    `  Next:      power on a phone on ${o.iface}; watch it with npx cx700-lab journal --follow, judge its boot with\n` +
    `             npx cx700-lab verify STORY.yaml --device MAC --next-boot (a used phone: hard-reset it first)\n\n`
  )
}

/** Serves until SIGINT/SIGTERM (the lab is stopped, then undone) or until the lab exits by itself. */
function untilStopped(
  lab: { child: ChildProcess; exited: Promise<number> },
  cleanup: Cleanup,
  logger: Logger,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      logger.info({ signal }, 'stopping')
      lab.child.kill('SIGTERM')
      void lab.exited.then(async (code) => {
        await cleanup()
        resolve(code)
      })
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
    void lab.exited.then(async (code) => {
      if (stopping) return
      logger.error({ code }, 'the lab inside the namespace exited')
      await cleanup()
      resolve(code === 0 ? 1 : code)
    })
  })
}
