import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { LabError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
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

/**
 * Interface mode: every server on the phones' link, on standard ports, with DHCP confined to that link.
 * Node cannot bind a socket to one device, so the lab runs inside a network namespace of its own that holds
 * only a macvlan of the NIC (bridge mode: the phones see the lab's own MAC and address); in there it is an
 * ordinary netns-mode lab whose DHCP may answer only on that macvlan. The admin API stays on the host: this
 * process proxies host:port to the lab's unix socket. SIGINT/SIGTERM stop the lab and remove the namespace
 * (and with it the macvlan).
 */
export async function runInterfaceMode(o: InterfaceModeOptions): Promise<number> {
  if (process.getuid?.() !== 0) {
    throw new LabError(
      'LAB_ERR_LAB_STATE',
      'Failed to start interface mode: it makes a network namespace and a macvlan, which needs root. Run it with sudo (cx700-lab preflight tells what else is missing).',
    )
  }
  const { namespace, link } = interfaceModeNames(o.iface)
  const existing = (await run('ip', ['netns', 'list'])).stdout
  if (existing.split('\n').some((l) => l.split(' ')[0] === namespace)) {
    throw new LabError(
      'LAB_ERR_LAB_STATE',
      `Failed to start interface mode: namespace ${namespace} exists — another lab serves ${o.iface}. Stop it (or: ip netns del ${namespace}).`,
    )
  }
  const socketDir = join(o.stateDir, 'interface')
  mkdirSync(socketDir, { recursive: true, mode: 0o700 })
  const socket = join(socketDir, `${namespace}.sock`)
  rmSync(socket, { force: true })
  // The admin API on the host: a TCP proxy to the lab's unix socket (the namespace has its own loopback).
  const proxy: Server = createServer((client) => {
    const upstream = connect({ path: socket })
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
  const cleanup = async (): Promise<void> => {
    await new Promise((r) => (proxy.listening ? proxy.close(r) : r(undefined)))
    await run('ip', ['netns', 'del', namespace]).catch(() => undefined)
    rmSync(socket, { force: true })
  }
  try {
    await ip(['netns', 'add', namespace])
    await ip(['link', 'add', 'link', o.iface, 'name', link, 'type', 'macvlan', 'mode', 'bridge'])
    await ip(['link', 'set', link, 'netns', namespace])
    await ip(['-n', namespace, 'addr', 'add', o.address, 'dev', link])
    await ip(['-n', namespace, 'link', 'set', link, 'up'])
    await ip(['-n', namespace, 'link', 'set', 'lo', 'up'])
  } catch (err) {
    await cleanup()
    throw err
  }
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      namespace,
      process.execPath,
      process.argv[1]!,
      'up',
      o.file,
      '--mode',
      'netns',
      '--interface',
      link,
      '--admin',
      `unix:${socket}`,
      '--state',
      o.stateDir,
      '--json',
      ...(o.watch ? ['--watch'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)))
  type Ready = { event: string; endpoints: Endpoint[]; runDir: string; journal: string; scenario: string }
  const ready = await new Promise<Ready | undefined>((resolve) => {
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
  if (!ready) {
    await cleanup()
    return 1
  }
  try {
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject)
      proxy.listen(o.admin.port, o.admin.host, () => resolve())
    })
  } catch (err) {
    child.kill('SIGTERM')
    await exited
    await cleanup()
    throw new LabError(
      'LAB_ERR_SERVER_BIND',
      `Failed to offer the admin API on ${o.admin.host}:${o.admin.port}: ${(err as Error).message}. Use --admin HOST:PORT.`,
    )
  }
  const addr = proxy.address()
  const adminUrl = `http://${o.admin.host}:${typeof addr === 'object' && addr ? addr.port : o.admin.port}`
  const labIp = o.address.split('/')[0]!
  const endpoints = ready.endpoints.map((e) => ({
    ...e,
    address: e.address === '0.0.0.0' ? labIp : e.address,
  }))
  if (o.json) {
    process.stdout.write(
      JSON.stringify({ ...ready, pid: process.pid, adminUrl, endpoints, interface: o.iface, namespace }) +
        '\n',
    )
  } else {
    process.stdout.write(
      `\n  cx700-lab — TEST LAB ONLY. Scenario "${ready.scenario}" on ${o.iface} (${o.address}; namespace ${namespace}).\n\n` +
        endpointTable(endpoints, adminUrl)
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n') +
        `\n\n  Admin API: ${adminUrl}\n  Journal:   ${ready.journal}\n\n`,
    )
  }
  return await new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      o.logger.info({ signal }, 'stopping')
      child.kill('SIGTERM')
      void exited.then(async (code) => {
        await cleanup()
        resolve(code)
      })
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
    void exited.then(async (code) => {
      if (stopping) return
      o.logger.error({ code }, 'the lab inside the namespace exited')
      await cleanup()
      resolve(code === 0 ? 1 : code)
    })
  })
}
