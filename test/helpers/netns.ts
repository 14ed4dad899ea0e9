import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
let counter = 0

export interface Netns extends AsyncDisposable {
  readonly name: string
  /** Runs a command inside the namespace to completion. */
  exec(
    args: string[],
    options?: { timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>
  /** Starts a long-running process inside the namespace; it is killed by PID on dispose. */
  spawn(args: string[], options?: SpawnOptions): ChildProcess
}

/**
 * A network namespace of the test's own, with only its loopback up. Traffic sent inside it stays inside
 * it. Disposal kills every process the test started in it (by PID) and deletes the namespace.
 */
export async function createNetns(): Promise<Netns> {
  const name = `cx7t-${process.pid}-${++counter}`
  await run('ip', ['netns', 'add', name])
  const children: ChildProcess[] = []
  try {
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  } catch (err) {
    await run('ip', ['netns', 'del', name])
    throw err
  }
  return {
    name,
    async exec(args, options = {}) {
      try {
        const { stdout, stderr } = await run('ip', ['netns', 'exec', name, ...args], {
          timeout: options.timeoutMs ?? 20_000,
        })
        return { code: 0, stdout, stderr }
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string }
        return {
          code: typeof e.code === 'number' ? e.code : -1,
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
        }
      }
    },
    spawn(args, options = {}) {
      const child = spawn('ip', ['netns', 'exec', name, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...options,
      })
      children.push(child)
      return child
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(
        children.map(async (c) => {
          if (c.exitCode !== null || c.signalCode !== null) return
          const gone = new Promise((r) => c.once('exit', r))
          c.kill('SIGTERM')
          const timer = setTimeout(() => c.kill('SIGKILL'), 5_000)
          await gone
          clearTimeout(timer)
        }),
      )
      await run('ip', ['netns', 'del', name])
    },
  }
}

let links = 0

export interface LinkedNetns extends AsyncDisposable {
  /** The namespace the lab runs in, and its end of the link (with `labAddress`). */
  readonly lab: Netns
  readonly labIf: string
  /** The namespace the clients run in, and its end (no address: DHCP gives it one). */
  readonly client: Netns
  readonly clientIf: string
}

/**
 * Two namespaces of the test's own joined by a veth pair: a lab side with `labAddress` and a client side
 * with `clientMac`, both links up. `/etc/netns/<client>/resolv.conf` is created first, so that client hooks
 * (`ip netns exec` bind-mounts it) never touch the host's. Disposal removes both namespaces and the file.
 */
export async function createLinkedNetns(
  labAddress = '10.50.0.1/24',
  clientMac = '00:04:f2:01:02:03',
): Promise<LinkedNetns> {
  const lab = await createNetns()
  const client = await createNetns()
  const n = ++links
  const labIf = `c7l${process.pid % 10000}${n}`
  const clientIf = `c7c${process.pid % 10000}${n}`
  const { mkdirSync, writeFileSync, rmSync } = await import('node:fs')
  const etc = `/etc/netns/${client.name}`
  try {
    mkdirSync(etc, { recursive: true })
    writeFileSync(`${etc}/resolv.conf`, '')
    await run('ip', ['link', 'add', labIf, 'type', 'veth', 'peer', 'name', clientIf])
    await run('ip', ['link', 'set', labIf, 'netns', lab.name])
    await run('ip', ['link', 'set', clientIf, 'netns', client.name])
    await run('ip', ['-n', lab.name, 'addr', 'add', labAddress, 'dev', labIf])
    await run('ip', ['-n', lab.name, 'link', 'set', labIf, 'up'])
    await run('ip', ['-n', client.name, 'link', 'set', clientIf, 'address', clientMac])
    await run('ip', ['-n', client.name, 'link', 'set', clientIf, 'up'])
  } catch (err) {
    await client[Symbol.asyncDispose]()
    await lab[Symbol.asyncDispose]()
    rmSync(etc, { recursive: true, force: true })
    throw err
  }
  return {
    lab,
    labIf,
    client,
    clientIf,
    async [Symbol.asyncDispose]() {
      await client[Symbol.asyncDispose]()
      await lab[Symbol.asyncDispose]()
      rmSync(etc, { recursive: true, force: true })
    },
  }
}

/** Joins two namespaces of the test with a veth pair (ends named `aIf`, `bIf`), both up; `bMac` sets b's MAC. */
export async function veth(a: Netns, aIf: string, b: Netns, bIf: string, bMac?: string): Promise<void> {
  await run('ip', ['link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf])
  await run('ip', ['link', 'set', aIf, 'netns', a.name])
  await run('ip', ['link', 'set', bIf, 'netns', b.name])
  if (bMac !== undefined) await run('ip', ['-n', b.name, 'link', 'set', bIf, 'address', bMac])
  await run('ip', ['-n', a.name, 'link', 'set', aIf, 'up'])
  await run('ip', ['-n', b.name, 'link', 'set', bIf, 'up'])
}

/**
 * A rogue DHCP server for the tests that must catch one: dnsmasq on the client side of a linked pair
 * (with 10.50.0.2, offering .150–.160). Resolves once dnsmasq has written its pid file; disposal stops it
 * and takes the address away again.
 */
export async function rogueDnsmasq(
  net: LinkedNetns,
  dnsmasqPath: string,
  dir: string,
): Promise<AsyncDisposable> {
  const { existsSync } = await import('node:fs')
  await net.client.exec(['ip', 'addr', 'add', '10.50.0.2/24', 'dev', net.clientIf])
  const pid = `${dir}/dnsmasq.pid`
  const child = net.client.spawn([
    dnsmasqPath,
    '--keep-in-foreground',
    '--port=0',
    `--interface=${net.clientIf}`,
    '--bind-interfaces',
    '--dhcp-range=10.50.0.150,10.50.0.160,255.255.255.0,1h',
    `--pid-file=${pid}`,
    `--dhcp-leasefile=${dir}/dnsmasq.leases`,
  ])
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM')
    await net.client.exec(['ip', 'addr', 'del', '10.50.0.2/24', 'dev', net.clientIf])
  }
  for (let i = 0; i < 100 && !existsSync(pid); i++) await new Promise((r) => setTimeout(r, 100))
  if (!existsSync(pid)) {
    await stop()
    throw new Error('dnsmasq did not start')
  }
  return { [Symbol.asyncDispose]: stop }
}
