import { mkdirSync, writeFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { LabPki } from '../certs/pki.js'
import { ScriptRunner } from './script.js'
import { mergeScenario, overlaid } from './scenario/load.js'
import { parseDuration } from '../core/schema/common.js'
import { KerberosRealm, loadRealmSecret } from '../core/auth/krb5/realm.js'
import { thumbprint } from '../certs/export.js'
import { join } from 'node:path'
import { systemClock, type Clock, type ClockChange, type LabClock } from '../core/clock.js'
import { LabError } from '../core/errors.js'
import { FaultEngine } from '../core/faults/engine.js'
import { CaptureStore, type CaptureOptions } from '../core/capture/store.js'
import { Journal, type JournalFileStatus, type JournalOptions } from '../core/journal/journal.js'
import { eventWriter, type EventWriterOf } from '../core/journal/events.js'
import type { LabEvents, PkiEvents } from './events.js'
import type { Logger } from '../core/logger.js'
import { defaultStateDir } from './paths.js'
import { PhoneCommands } from './admin/phone-commands.js'
import { seededRandom, type Random } from '../core/random.js'
import type { Scenario, ServerName, ServersConfig } from './scenario/model.js'
import { DeviceViews, planDeviceView, type DevicePlan, type ViewTarget } from './device-views.js'
import type { Network } from '../core/site.js'
import type { Journal as JournalType } from '../core/journal/journal.js'
import type { NetworkMode } from '../core/site.js'
import type { BoundPort, ListenRequest, RunningServer, SiteView } from '../core/server.js'
import {
  SERVER_DEFINITIONS,
  SERVER_FAULTS,
  SERVER_NAMES,
  type RuntimeOf,
  type SliceOf,
  type ServerDefinitions,
} from '../servers/index.js'
import type { ServerDeps } from '../servers/contract.js'
import type { Listen } from '../core/schema/common.js'

/** `scenario`: ports as the network mode says; `ephemeral`: port 0 wherever the scenario names none (tests, several labs at once). */
export type PortPolicy = 'scenario' | 'ephemeral'

export interface LabOptions {
  readonly scenario: Scenario
  readonly logger: Logger
  /** Overrides the scenario's network mode (the CLI's --mode). */
  readonly mode?: NetworkMode
  /** Overrides the scenario's network interface (the CLI's --interface): the link DHCP may answer on. */
  readonly interface?: string
  readonly ports?: PortPolicy
  readonly stateDir?: string
  /** Where journal.jsonl goes; defaults to a new folder under <state>/runs/. */
  readonly runDir?: string
  /** The lab's clock (tests pass a stopped one); by default real time, at the scenario's `clock.rate`. */
  readonly clock?: LabClock
  /** The journal's bounds: events and octets kept in memory, the file's size before it is rotated. */
  readonly journal?: Pick<JournalOptions, 'capacity' | 'capacityBytes' | 'fileMaxBytes'>
  /** How much of what crossed the sockets is kept for captures (default 4 MiB a device, 32 MiB in all). */
  readonly capture?: CaptureOptions
}

/** One line of the port map: where a service of a lab host really listens. */
export interface Endpoint extends BoundPort {
  /** The scenario hosts this socket stands in for. */
  readonly hosts: readonly string[]
}

export interface ServerHealth {
  readonly name: string
  readonly state: string
  readonly ports: readonly BoundPort[]
}

/**
 * Where the lab's memory is, in MiB: the process's resident set and V8's heap (as `process.memoryUsage()`
 * reports them), and what the two bounded stores hold — the journal's events in memory and the packet
 * captures. A lab left running for days shows here whether it levels off.
 */
export interface MemoryHealth {
  readonly rssMb: number
  readonly heapUsedMb: number
  readonly heapTotalMb: number
  /** Octets outside V8's heap: Buffers and other ArrayBuffers, TLS and socket state. */
  readonly externalMb: number
  readonly journalMb: number
  readonly captureMb: number
}

export interface Health {
  readonly ok: boolean
  readonly scenario: string
  readonly servers: readonly ServerHealth[]
  readonly memory: MemoryHealth
  /** Whether the journal file is being written (a full disk stops it; memory keeps the events). */
  readonly journalFile: JournalFileStatus
}

const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10

/** A running server with the one operation that depends on its configuration type bound to it. */
interface Instance {
  readonly server: RunningServer
  readonly listen: ListenRequest[]
  /** Hands the server its slice of another scenario (same sockets). */
  readonly configure: (scenario: Scenario) => void | Promise<void>
  /** The server's slice of a scenario (one device's is compared with the lab's). */
  readonly slice: (scenario: Scenario) => unknown
  /** Gives one device the server's slice of a scenario, or its own back; absent when the server cannot. */
  readonly configureDevice?: (mac: string, scenario: Scenario | undefined) => void
}

type Runtimes = { [K in ServerName]: RuntimeOf<K> }

function createRuntimes(deps: { journal: JournalType; stateDir: string }): Runtimes {
  const one = <K extends ServerName>(name: K): RuntimeOf<K> => SERVER_DEFINITIONS[name].runtime(deps)
  return Object.fromEntries(SERVER_NAMES.map((name) => [name, one(name)])) as Runtimes
}

/** Where each socket of a server is bound, from the network mode, the block's `listen` and the port policy. */
export function planListen<K extends ServerName>(
  name: K,
  servers: ServersConfig,
  network: Network,
  ports: PortPolicy,
): ListenRequest[] {
  const block: { readonly listen?: Listen } = servers[name]
  return SERVER_DEFINITIONS[name].sockets.map((s) => ({
    ...s,
    address: block.listen?.address ?? network.address,
    // A port the scenario names wins; otherwise the policy decides (ephemeral: 0; else the mode's default).
    port:
      block.listen?.port ??
      (ports === 'ephemeral'
        ? 0
        : network.mode === 'loopback'
          ? network.portBase + s.standardPort
          : s.standardPort),
  }))
}

function sameListen(a: readonly ListenRequest[], b: readonly ListenRequest[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function withMode(scenario: Scenario, mode: NetworkMode | undefined, iface?: string): Network {
  const base =
    mode === undefined || mode === scenario.network.mode
      ? scenario.network
      : { ...scenario.network, mode, address: mode === 'loopback' ? '127.0.0.1' : '0.0.0.0' }
  return iface === undefined ? base : { ...base, interface: iface }
}

function siteView(s: Scenario): SiteView {
  return { network: s.network, site: s.site, users: s.users, hosts: s.hosts }
}

/** A lab duration in the largest units that keep it readable: 1d 2h, 15m, 900ms. */
export function formatLabDuration(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ]
  const parts: string[] = []
  let rest = Math.round(ms)
  for (const [u, size] of units)
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${u}`)
      rest %= size
    }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`)
  return parts.slice(0, 2).join(' ')
}

function runStamp(clock: Clock): string {
  return new Date(clock.now()).toISOString().replace(/[:.]/g, '-')
}

/**
 * The lab runtime: builds the servers a scenario enables, starts all or none, swaps scenarios while
 * running (keeping the old one on any error), and owns the journal and the fault engine.
 */
export class Lab implements AsyncDisposable {
  readonly journal: Journal
  readonly #record: EventWriterOf<LabEvents>
  readonly #recordPki: EventWriterOf<PkiEvents>
  readonly faults: FaultEngine
  /** What crossed the servers' sockets, per device and bounded (`cx700-lab capture`). */
  readonly capture: CaptureStore
  readonly stateDir: string
  readonly runDir: string
  readonly logger: Logger
  readonly #clock: LabClock
  readonly #unwatchClock: () => void
  /** Whether the clock is the lab's own (not one a caller passed in). */
  readonly #ownClock: boolean
  readonly #ports: PortPolicy
  readonly #mode: NetworkMode | undefined
  readonly #interface: string | undefined
  #random: Random
  #scenario: Scenario
  #network: Network
  readonly runtimes: Runtimes
  /** Commands waiting for emulated phones (reboot, power-cycle, hard reset). */
  readonly phoneCommands: PhoneCommands
  /** Devices that meet a scenario of their own (a trainee's story exercise on their phone alone). */
  readonly deviceViews: DeviceViews
  #servers = new Map<ServerName, Instance>()
  #pki: LabPki | undefined
  #state: 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' = 'idle'
  #reloading: Promise<unknown> = Promise.resolve()

  constructor(options: LabOptions) {
    this.#scenario = options.scenario
    this.#mode = options.mode
    this.#interface = options.interface
    this.#network = withMode(options.scenario, options.mode, options.interface)
    this.#ports = options.ports ?? 'scenario'
    this.#clock = options.clock ?? systemClock()
    this.#ownClock = options.clock === undefined
    this.logger = options.logger
    this.stateDir = options.stateDir ?? defaultStateDir()
    this.runDir =
      options.runDir ?? join(this.stateDir, 'runs', `${runStamp(this.#clock)}-${options.scenario.name}`)
    mkdirSync(this.runDir, { recursive: true })
    this.journal = new Journal({
      ...options.journal,
      clock: this.#clock,
      file: join(this.runDir, 'journal.jsonl'),
    })
    this.#record = eventWriter<LabEvents>(this.journal, 'lab')
    this.#recordPki = eventWriter<PkiEvents>(this.journal, 'pki')
    this.capture = new CaptureStore({
      ...(options.capture ? { capture: options.capture } : {}),
      resolve: (address, hint) => this.journal.devices.resolve(hint, address),
      now: () => this.#clock.now(),
    })
    this.#random = seededRandom(options.scenario.seed)
    this.faults = new FaultEngine({
      journal: this.journal,
      random: () => this.#random(),
      servers: SERVER_FAULTS,
    })
    this.faults.setScenarioRules(options.scenario.faults)
    this.runtimes = createRuntimes({ journal: this.journal, stateDir: this.stateDir })
    this.phoneCommands = new PhoneCommands(this.journal)
    this.deviceViews = new DeviceViews({
      faults: this.faults,
      record: (mac, view) =>
        this.#record('lab:device-view', {
          summary: view
            ? `${mac} meets ${view.scenario.name} (${[...view.plan.servers, ...(view.ruleIds.length ? ['faults'] : [])].join(', ') || 'nothing differs'})`
            : `${mac} meets the lab's scenario again`,
          // Not keyed by the device: what its view is (a trainee's exercise) stays out of the device's timeline.
          detail: {
            mac,
            ...(view ? { scenario: view.scenario.name } : {}),
            servers: view?.plan.servers ?? [],
            faults: view?.ruleIds ?? [],
          },
        }),
    })
    this.#unwatchClock = this.#clock.onChange((change) => this.#journalClock(change))
  }

  /**
   * Every change an operator makes to lab time is in the journal, with both times, so a timeline can be read
   * across it (the quiet moves of a fast-forwarding phone are not; its events carry `wall` beside `time`).
   */
  #journalClock(change: ClockChange): void {
    if (change.kind === 'advance' && change.quiet === true) return
    const { labMs, wallMs, rate } = this.#clock.state()
    const at = new Date(labMs).toISOString()
    this.#record('lab:clock', {
      summary:
        change.kind === 'rate'
          ? `lab clock runs at ${rate}× real time (was ${change.from}×), lab time ${at}`
          : `lab clock advanced by ${formatLabDuration(change.byMs)} to ${at}`,
      detail: { ...change, labTime: at, wallTime: new Date(wallMs).toISOString(), rate },
    })
  }

  /**
   * Runs lab time at the scenario's rate: at start (unless the caller brought its own clock, as tests do)
   * and on a reload to a scenario that names another rate.
   */
  #followScenarioRate(scenario: Scenario, previous?: Scenario): void {
    const rate = scenario.clock.rate
    if (rate === this.#clock.rate) return
    if (previous === undefined ? this.#ownClock : previous.clock.rate !== rate) this.#clock.setRate(rate)
  }

  get scenario(): Scenario {
    return this.#scenario
  }

  /** The lab's clock (what its servers and journal use). */
  get clock(): LabClock {
    return this.#clock
  }

  get network(): Network {
    return this.#network
  }

  get state(): string {
    return this.#state
  }

  /** The lab PKI (CAs from the state directory, server certificates issued at start); set once started. */
  get pki(): LabPki {
    if (!this.#pki)
      throw new LabError('LAB_ERR_LAB_STATE', 'Failed to read the lab PKI: the lab has not started.')
    return this.#pki
  }

  async #openPki(scenario: Scenario): Promise<LabPki> {
    const pki = await LabPki.open({
      stateDir: this.stateDir,
      clock: this.#clock,
      config: scenario.pki,
      site: scenario.site,
      hosts: scenario.hosts,
      listenAddresses: [withMode(scenario, this.#mode, this.#interface).address],
    })
    const root = pki.root.certificate
    this.#recordPki('pki:ready', {
      summary: `root ${root.subject} (SHA-1 ${await thumbprint(root)})${pki.created.length > 0 ? `; created ${pki.created.join(', ')}` : ''}; ${pki.servers.length} server certificate(s)`,
      detail: {
        root: { subject: root.subject, serial: root.serialNumber, thumbprint: await thumbprint(root) },
        created: pki.created,
        servers: pki.servers.map((c) => ({ host: c.host, names: c.dnsNames, profile: c.profile })),
      },
    })
    return pki
  }

  #realm: { scenario: Scenario; realm: KerberosRealm } | undefined

  /**
   * The Kerberos realm of the scenario in force: its keys come from the per-lab secret in the state
   * directory (made at first use), so tickets outlive restarts as an AD's keys do.
   */
  get kerberos(): KerberosRealm {
    const scenario = this.#scenario
    if (this.#realm?.scenario !== scenario) {
      const { site, users, hosts } = scenario
      const maxSkewMs = parseDuration(scenario.servers.kerberos.maxSkew)
      const realm = new KerberosRealm(loadRealmSecret(this.stateDir), site, users, hosts, { maxSkewMs })
      this.#realm = { scenario, realm }
    }
    return this.#realm.realm
  }

  #deps(name: string): ServerDeps {
    return {
      logger: this.logger.child({ server: name }),
      clock: this.#clock,
      random: () => this.#random(),
      journal: this.journal,
      faults: this.faults,
      pki: () => this.pki,
      kerberos: () => this.kerberos,
      endpoints: () => this.endpoints(),
      capture: this.capture,
    }
  }

  #create<K extends ServerName>(name: K, scenario: Scenario, listen: ListenRequest[]): Instance {
    const def: ServerDefinitions[K] = SERVER_DEFINITIONS[name]
    const slice = (s: Scenario): SliceOf<K> => this.#sliceOf(name, s)
    const server = def.create(slice(scenario), listen, this.#deps(name), this.runtimes[name])
    const own = server.configureDevice?.bind(server)
    const instance: Instance = {
      server,
      listen,
      configure: (next) => server.configure(slice(next)),
      slice,
      ...(own ? { configureDevice: (mac, s) => own(mac, s === undefined ? undefined : slice(s)) } : {}),
    }
    this.deviceViews.applyTo({ name, ...instance })
    return instance
  }

  /** A server's slice of a scenario; servers see the network in force (the CLI's --mode overrides the scenario's). */
  #sliceOf<K extends ServerName>(name: K, s: Scenario): SliceOf<K> {
    const effective = { ...s, network: withMode(s, this.#mode, this.#interface) }
    return SERVER_DEFINITIONS[name].slice(s.servers[name], siteView(effective))
  }

  /** A server's slice of the scenario one device meets: its own view's, or the lab's (a trainee's tools read it). */
  sliceFor<K extends ServerName>(name: K, mac: string): SliceOf<K> {
    return this.#sliceOf(name, this.deviceViews.scenarioOf(mac) ?? this.#scenario)
  }

  #viewTargets(): ViewTarget[] {
    return [...this.#servers].map(([name, instance]) => ({ name, ...instance }))
  }

  /** What giving one device `next` would change: the servers confined to it, and what would reach every device. */
  devicePlan(next: Scenario): DevicePlan {
    return planDeviceView(this.#scenario, next, this.#viewTargets())
  }

  /**
   * Gives one device a scenario of its own while the lab runs its scenario for every other device, or (undefined)
   * takes it back; throws LAB_ERR_DEVICE_VIEW when the scenario cannot be confined (nothing changes then).
   */
  confine(mac: string, next: Scenario | undefined): DevicePlan {
    return this.deviceViews.set(mac, next, this.#scenario, this.#viewTargets())
  }

  /** Starts every enabled server, or none: on a bind failure the ones already started are stopped again. */
  async start(): Promise<void> {
    if (this.#state !== 'idle')
      throw new LabError('LAB_ERR_LAB_STATE', `Failed to start the lab: it is ${this.#state}.`)
    this.#state = 'starting'
    const started: Instance[] = []
    try {
      this.#pki = await this.#openPki(this.#scenario)
      // The realm's secret is made now if it is new, not at the first ticket: a disk that fills later must
      // not stop Kerberos (nor the pool and IIS, which open tickets with it).
      void this.kerberos
      for (const name of SERVER_NAMES) {
        if (!this.#scenario.servers[name].enabled) continue
        const listen = planListen(name, this.#scenario.servers, this.#network, this.#ports)
        const instance = this.#create(name, this.#scenario, listen)
        await instance.server.start()
        started.push(instance)
        this.#servers.set(name, instance)
      }
    } catch (err) {
      await Promise.all(started.map((s) => s.server.stop()))
      this.#servers.clear()
      this.#state = 'stopped'
      this.#record('lab:failed', { summary: (err as Error).message, detail: {} })
      this.journal.close()
      throw err
    }
    this.#state = 'running'
    this.#followScenarioRate(this.#scenario)
    this.#record('lab:started', {
      summary: `scenario ${this.#scenario.name} running (${this.#network.mode})`,
      detail: { scenario: this.#scenario.name, file: this.#scenario.file, endpoints: this.endpoints() },
    })
    this.logger.info({ scenario: this.#scenario.name, mode: this.#network.mode }, 'lab started')
    this.#startScript(this.#scenario)
  }

  #script: ScriptRunner | undefined

  /** The scenario's script and how far it got (undefined: none). */
  get script(): ScriptRunner | undefined {
    return this.#script
  }

  /** Starts a scenario's script; a reload restarts it only when the script itself changed. */
  #startScript(scenario: Scenario, before?: Scenario): void {
    if (before && JSON.stringify(before.script) === JSON.stringify(scenario.script)) return
    this.#script?.stop()
    this.#script = undefined
    if (scenario.script.length === 0) return
    let overlays: Record<string, unknown> = {}
    this.#script = new ScriptRunner(
      {
        journal: this.journal,
        clock: this.#clock,
        faults: this.faults,
        logger: this.logger.child({ component: 'script' }),
        // A script's overlays add up, each over the scenario the script started on and the ones before it.
        overlay: (o) => {
          overlays = mergeScenario(overlays, o) as Record<string, unknown>
          return this.reload(overlaid(scenario, overlays))
        },
        command: (mac, command) => this.phoneCommands.give(mac, command),
      },
      scenario.script,
    )
    this.#script.start()
  }

  /** Lets each server add its admin routes, working on its per-lab state. */
  registerRoutes(app: FastifyInstance): void {
    const add = <K extends ServerName>(name: K): void => {
      const def: ServerDefinitions[K] = SERVER_DEFINITIONS[name]
      def.routes?.(app, this.runtimes[name])
    }
    for (const name of SERVER_NAMES) add(name)
  }

  endpoints(): Endpoint[] {
    const out: Endpoint[] = []
    for (const [name, { server }] of this.#servers) {
      if (server.state !== 'listening') continue
      const hosts = this.#hostsOf(name)
      for (const p of server.ports()) out.push({ ...p, hosts })
    }
    return out
  }

  /**
   * The addresses the lab answers on in the scenario's world: its own and every host's. In loopback mode an
   * emulated phone reaches these through the port map, and nothing else (a DNS answer elsewhere is dead).
   */
  siteAddresses(): string[] {
    const { site, hosts } = this.#scenario
    return [...new Set([site.labAddress, ...hosts.map((h) => h.address)])]
  }

  /** The names a server stands for: the hosts of its roles, then the names its definition adds. */
  #hostsOf<K extends ServerName>(name: K): string[] {
    const def: ServerDefinitions[K] = SERVER_DEFINITIONS[name]
    const scenario = this.#scenario
    const byRole = scenario.hosts.filter((h) => h.roles.some((r) => def.roles.includes(r))).map((h) => h.name)
    const extra = def.names?.(scenario.servers[name], siteView(scenario)) ?? []
    return [...new Set([...byRole, ...extra])]
  }

  health(): Health {
    const servers = [...this.#servers.values()].map(({ server }) => ({
      name: server.name,
      state: server.state,
      ports: server.state === 'listening' ? server.ports() : [],
    }))
    return {
      ok: this.#state === 'running' && servers.every((s) => s.state === 'listening'),
      scenario: this.#scenario.name,
      servers,
      memory: this.#memory(),
      journalFile: this.journal.fileStatus,
    }
  }

  #memory(): MemoryHealth {
    const m = process.memoryUsage()
    return {
      rssMb: mib(m.rss),
      heapUsedMb: mib(m.heapUsed),
      heapTotalMb: mib(m.heapTotal),
      externalMb: mib(m.external),
      journalMb: mib(this.journal.memoryBytes),
      captureMb: mib(this.capture.bytes),
    }
  }

  /**
   * Swaps in another scenario without a restart. Servers whose sockets stay the same get the new
   * configuration in place; servers that must move are started on their new sockets first, and only
   * when every one of them is bound are the old ones stopped. On any error the old scenario keeps serving.
   */
  reload(next: Scenario): Promise<void> {
    const run = this.#reloading.then(() => this.#reload(next))
    this.#reloading = run.catch(() => undefined)
    return run
  }

  async #reload(next: Scenario): Promise<void> {
    if (this.#state !== 'running')
      throw new LabError('LAB_ERR_LAB_STATE', `Failed to reload: the lab is ${this.#state}.`)
    const network = withMode(next, this.#mode, this.#interface)
    const keep: { name: ServerName; listen: ListenRequest[] }[] = []
    const fresh: { name: ServerName; instance: Instance }[] = []
    const retire: ServerName[] = []
    const previousPki = this.#pki
    try {
      // Servers started for the new scenario read the new PKI; on failure the old one is put back.
      this.#pki = await this.#openPki(next)
      for (const name of SERVER_NAMES) {
        const current = this.#servers.get(name)
        const enabled = next.servers[name].enabled
        const listen = planListen(name, next.servers, network, this.#ports)
        if (!enabled) {
          if (current) retire.push(name)
          continue
        }
        if (current && sameListen(current.listen, listen)) {
          keep.push({ name, listen })
          continue
        }
        if (current) retire.push(name)
        const instance = this.#create(name, next, listen)
        fresh.push({ name, instance })
        await instance.server.start()
      }
    } catch (err) {
      this.#pki = previousPki
      await Promise.all(fresh.map((f) => f.instance.server.stop()))
      this.#record('lab:reload-failed', {
        summary: `reload to ${next.name} failed; ${this.#scenario.name} keeps serving: ${(err as Error).message}`,
        detail: {},
      })
      throw err
    }
    const previous = this.#scenario.name
    await Promise.all(keep.map(async ({ name }) => this.#servers.get(name)?.configure(next)))
    const retired = retire.flatMap((n) => {
      const s = this.#servers.get(n)?.server
      return s ? [s] : []
    })
    for (const n of retire) this.#servers.delete(n)
    for (const f of fresh) this.#servers.set(f.name, f.instance)
    const before = this.#scenario
    this.#scenario = next
    this.#followScenarioRate(next, before)
    this.#startScript(next, before)
    this.#network = network
    this.#random = seededRandom(next.seed)
    this.faults.setScenarioRules(next.faults)
    await Promise.all(retired.map((s) => s.stop()))
    this.#record('lab:reloaded', {
      summary: `scenario ${previous} → ${next.name}`,
      detail: { from: previous, to: next.name, file: next.file, endpoints: this.endpoints() },
    })
    this.logger.info({ from: previous, to: next.name }, 'scenario reloaded')
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return
    this.#state = 'stopping'
    this.#script?.stop()
    await this.#reloading
    const servers = [...this.#servers.values()].map((s) => s.server)
    this.#servers.clear()
    await Promise.all(servers.map((s) => s.stop()))
    this.#record('lab:stopped', { summary: 'lab stopped', detail: {} })
    this.#unwatchClock()
    this.journal.close()
    this.#state = 'stopped'
    this.logger.info('lab stopped')
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  /**
   * Writes <runDir>/lab.json, what a run was (pid, admin URL, endpoints), kept for review after the run. It
   * never holds a secret: the admin token lives only in <state>/current.json (mode 0600, removed at stop).
   */
  writeRunInfo(info: Record<string, unknown>): string {
    const file = join(this.runDir, 'lab.json')
    const { token: _secret, ...shown } = info
    writeFileSync(file, JSON.stringify({ pid: process.pid, runDir: this.runDir, ...shown }, null, 2) + '\n', {
      mode: 0o600,
    })
    return file
  }
}
