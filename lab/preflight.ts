import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { networkInterfaces } from 'node:os'
import { promisify } from 'node:util'
import { probeDhcpServers } from '../servers/dhcp/probe.js'
import { probeAddress } from './duplicate-address.js'
import { SERVER_DEFINITIONS, SERVER_NAMES } from '../servers/index.js'

/**
 * What `cx700-lab preflight` checks before real phones meet the lab on a NIC, the same story `up` tells: in
 * interface mode (the default) privileges, the link (up, not holding the lab's address), no other device
 * answering for the address, another DHCP server on the segment, the clock the certificates are dated from;
 * in netns mode (a container on the NIC) the link holding the address and every standard port free on it
 * instead of the first. A `fail` blocks; a `warn` is worth reading.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface Check {
  readonly name: string
  readonly status: CheckStatus
  readonly detail: string
}

/**
 * The ports a lab on a NIC binds: every socket the server registry declares, one line per port and transport
 * (HTTPS and the pool's Edge-style 443 share one), named by the servers that bind it.
 */
export const LAB_PORTS: readonly {
  readonly port: number
  readonly transport: 'udp' | 'tcp'
  readonly what: string
}[] = registryPorts()

function registryPorts(): { port: number; transport: 'udp' | 'tcp'; what: string }[] {
  const byPort = new Map<string, { port: number; transport: 'udp' | 'tcp'; what: string[] }>()
  for (const name of SERVER_NAMES)
    for (const socket of SERVER_DEFINITIONS[name].sockets) {
      const key = `${socket.standardPort}/${socket.transport}`
      const entry = byPort.get(key) ?? { port: socket.standardPort, transport: socket.transport, what: [] }
      entry.what.push(socket.name === name ? name : `${name} (${socket.name})`)
      byPort.set(key, entry)
    }
  return [...byPort.values()]
    .sort((a, b) => a.port - b.port || a.transport.localeCompare(b.transport))
    .map((e) => ({ port: e.port, transport: e.transport, what: e.what.join(', ') }))
}

const CAP_NET_BIND_SERVICE = 10
const CAP_NET_ADMIN = 12

export function privileges(uid: number | undefined, procStatus: string | undefined): Check {
  if (uid === 0) return { name: 'privileges', status: 'ok', detail: 'running as root' }
  const eff = /^CapEff:\s*([0-9a-f]+)/m.exec(procStatus ?? '')?.[1]
  const caps = eff ? BigInt(`0x${eff}`) : 0n
  const has = (bit: number): boolean => (caps & (1n << BigInt(bit))) !== 0n
  const missing = [
    ...(has(CAP_NET_BIND_SERVICE) ? [] : ['CAP_NET_BIND_SERVICE']),
    ...(has(CAP_NET_ADMIN) ? [] : ['CAP_NET_ADMIN']),
  ]
  return missing.length === 0
    ? { name: 'privileges', status: 'ok', detail: 'CAP_NET_BIND_SERVICE and CAP_NET_ADMIN' }
    : {
        name: 'privileges',
        status: 'fail',
        detail: `missing ${missing.join(' and ')}: run as root, or setcap them on node`,
      }
}

/**
 * The NIC: present and up. In interface mode the lab takes its address on a macvlan of its own, so the NIC
 * must not hold it (two owners of one address on a link); in netns mode (a container whose only link is the
 * NIC) the lab binds the address the NIC holds, so it must.
 */
export function link(
  name: string,
  address: string | undefined,
  operstate: string | undefined,
  mode: PreflightMode = 'netns',
): Check {
  const addrs = networkInterfaces()[name]
  if (operstate === undefined && !addrs)
    return { name: 'link', status: 'fail', detail: `no interface ${name} here (ip link)` }
  if (operstate === 'down')
    return { name: 'link', status: 'fail', detail: `${name} is down: ip link set ${name} up` }
  const v4 = (addrs ?? []).filter((a) => a.family === 'IPv4').map((a) => a.cidr ?? a.address)
  if (mode === 'interface') return interfaceLink(name, address, operstate, v4)
  if (address !== undefined) {
    const want = address.split('/')[0]
    if (!v4.some((a) => a.split('/')[0] === want))
      return {
        name: 'link',
        status: 'fail',
        detail: `${name} does not have ${address} (it has ${v4.join(', ') || 'no IPv4 address'}): ip addr add ${address} dev ${name}`,
      }
  } else if (v4.length === 0) {
    return {
      name: 'link',
      status: 'fail',
      detail: `${name} has no IPv4 address: ip addr add 10.50.0.1/24 dev ${name}`,
    }
  }
  return { name: 'link', status: 'ok', detail: `${name} is ${operstate ?? 'present'} with ${v4.join(', ')}` }
}

function interfaceLink(
  name: string,
  address: string | undefined,
  operstate: string | undefined,
  v4: readonly string[],
): Check {
  const want = address?.split('/')[0]
  if (want !== undefined && v4.some((a) => a.split('/')[0] === want))
    return {
      name: 'link',
      status: 'fail',
      detail: `${name} holds ${address}, which the lab takes on a macvlan of its own in interface mode (two owners: the phones' ARP finds this host): ip addr del ${address} dev ${name}`,
    }
  return {
    name: 'link',
    status: 'ok',
    detail: `${name} is ${operstate ?? 'present'}${want !== undefined ? ` and leaves ${want} to the lab` : ''}`,
  }
}

/** An RFC 5227 probe for the lab's address on the link: a device that answers would be its second owner. */
export async function duplicateAddress(iface: string, address: string, mode: PreflightMode): Promise<Check> {
  const ip = address.split('/')[0]!
  const name = 'duplicate address'
  const probe = await probeAddress(iface, ip)
  if (probe.kind === 'free')
    return { name, status: 'ok', detail: `no other device on ${iface} answers for ${ip}` }
  if (probe.kind === 'taken')
    return {
      name,
      status: 'fail',
      detail: `a device on ${iface} answers for ${ip} (MAC ${probe.mac}): the phones would reach it, not the lab`,
    }
  return { name, status: mode === 'interface' ? 'fail' : 'warn', detail: `not checked: ${probe.why}` }
}

/** Whether a port can be bound on `address` now: 'free', 'in use', 'denied', or the error code. */
export async function portFree(address: string, port: number, transport: 'udp' | 'tcp'): Promise<string> {
  const outcome = (err: NodeJS.ErrnoException | undefined): string =>
    err === undefined
      ? 'free'
      : err.code === 'EADDRINUSE'
        ? 'in use'
        : err.code === 'EACCES'
          ? 'denied'
          : (err.code ?? err.message)
  if (transport === 'udp') {
    const s = createSocket({ type: 'udp4' })
    return new Promise((resolve) => {
      s.once('error', (err: NodeJS.ErrnoException) => {
        s.close()
        resolve(outcome(err))
      })
      s.bind(port, address, () => s.close(() => resolve('free')))
    })
  }
  const srv = createServer()
  return new Promise((resolve) => {
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(outcome(err)))
    srv.listen({ port, host: address, exclusive: true }, () => srv.close(() => resolve('free')))
  })
}

export async function ports(address: string): Promise<Check[]> {
  const out: Check[] = []
  for (const p of LAB_PORTS) {
    const r = await portFree(address, p.port, p.transport)
    out.push({
      name: `port ${p.port}/${p.transport}`,
      status: r === 'free' ? 'ok' : 'fail',
      detail:
        r === 'free'
          ? `${p.what}: free on ${address}`
          : `${p.what}: ${r} on ${address}${r === 'in use' ? ` (ss -lpn 'sport = :${p.port}' shows who)` : ''}`,
    })
  }
  return out
}

export async function rogueDhcp(name: string, waitMs: number): Promise<Check> {
  const v4 = (networkInterfaces()[name] ?? []).find((a) => a.family === 'IPv4')
  if (!v4)
    return {
      name: 'other DHCP servers',
      status: 'warn',
      detail: `not checked here: ${name} has no IPv4 address to send from (the lab itself probes for one as it starts, and refuses to serve beside it)`,
    }
  const ip = v4.address.split('.').map(Number)
  const mask = v4.netmask.split('.').map(Number)
  const broadcast = ip.map((o, i) => (o | (~mask[i]! & 255)) & 255).join('.')
  try {
    const offers = await probeDhcpServers(broadcast, 67, waitMs)
    return offers.length === 0
      ? {
          name: 'other DHCP servers',
          status: 'ok',
          detail: `none answered a DISCOVER on ${name} within ${waitMs} ms`,
        }
      : {
          name: 'other DHCP servers',
          status: 'fail',
          detail: `answering on ${name}: ${offers.join(', ')} — the lab would be a second (rogue) DHCP server`,
        }
  } catch (err) {
    return { name: 'other DHCP servers', status: 'warn', detail: `not checked: ${(err as Error).message}` }
  }
}

export async function clock(now: Date): Promise<Check> {
  let synced: string | undefined
  try {
    synced = (
      await promisify(execFile)('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], {
        timeout: 3_000,
      })
    ).stdout.trim()
  } catch {
    synced = undefined
  }
  const at = now.toISOString()
  if (synced === 'yes') return { name: 'clock', status: 'ok', detail: `${at}, synchronised` }
  return {
    name: 'clock',
    status: 'warn',
    detail: `${at}; ${synced === 'no' ? 'not synchronised' : 'cannot tell whether it is synchronised'}: certificates are dated from this clock`,
  }
}

/** The mode the lab will run in on the NIC: `up --mode interface`, or netns (a container's own link). */
export type PreflightMode = 'interface' | 'netns'

export interface PreflightOptions {
  readonly interface: string
  readonly address?: string
  readonly dhcpWaitMs: number
  readonly mode?: PreflightMode
}

function bindAddress(options: PreflightOptions): string {
  return (
    options.address?.split('/')[0] ??
    (networkInterfaces()[options.interface] ?? []).find((a) => a.family === 'IPv4')?.address ??
    '0.0.0.0'
  )
}

export async function preflight(options: PreflightOptions): Promise<Check[]> {
  const readOr = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8').trim()
    } catch {
      return undefined
    }
  }
  const mode = options.mode ?? 'interface'
  const checks: Check[] = [privileges(process.getuid?.(), readOr('/proc/self/status'))]
  const l = link(
    options.interface,
    options.address,
    readOr(`/sys/class/net/${options.interface}/operstate`),
    mode,
  )
  checks.push(l)
  if (options.address !== undefined && l.status === 'ok')
    checks.push(await duplicateAddress(options.interface, options.address, mode))
  // In interface mode the lab binds its ports in a namespace of its own, so the host's are not in the way.
  if (mode === 'netns') checks.push(...(await ports(l.status === 'ok' ? bindAddress(options) : '0.0.0.0')))
  checks.push(await rogueDhcp(options.interface, options.dhcpWaitMs))
  checks.push(await clock(new Date()))
  return checks
}
