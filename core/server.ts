import type { CaptureStore } from './capture/store.js'
import type { LabClock } from './clock.js'
import type { FaultEngine } from './faults/engine.js'
import type { FaultCapabilities } from './faults/types.js'
import type { Journal } from './journal/journal.js'
import type { Logger } from './logger.js'
import type { Random } from './random.js'
import type { FastifyInstance } from 'fastify'
import type { Static, TObject, TProperties } from '@sinclair/typebox'
import type { AskReader, EventClassifier } from './journal/events.js'
import type { SchemaProblem } from './schema/problems.js'
import type { Host, HostRole, Network, Site, User } from './site.js'

export type ReadyState = 'idle' | 'starting' | 'listening' | 'stopping' | 'stopped'

/** A socket a server wants: named, with the port the real service uses. */
export interface SocketSpec {
  readonly name: string
  readonly transport: 'udp' | 'tcp'
  readonly standardPort: number
}

/** Where a socket is to be bound (from the network mode, the scenario's `listen`, and the port policy). */
export interface ListenRequest extends SocketSpec {
  readonly address: string
  readonly port: number
}

/** A bound socket, as the port map publishes it. */
export interface BoundPort extends SocketSpec {
  readonly server: string
  readonly address: string
  readonly port: number
}

/** What every server gets injected; nothing reaches for globals (house-style §2). */
export interface LabDeps {
  readonly logger: Logger
  /** The lab's one clock: lab time (possibly fast or advanced) and timers planned in it. */
  readonly clock: LabClock
  readonly random: Random
  readonly journal: Journal
  readonly faults: FaultEngine
  /** Every bound socket of the lab (a server handing out another's URL needs its real port). */
  readonly endpoints: () => readonly BoundPort[]
  /** What crossed the lab's sockets, per device and bounded (packet captures). */
  readonly capture: CaptureStore
}

/** What the runtime needs of any server, whatever its configuration. */
export interface RunningServer extends AsyncDisposable {
  readonly name: string
  readonly state: ReadyState
  /** Resolves once every socket is bound; rejects with LAB_ERR_SERVER_BIND naming the port. */
  start(): Promise<readonly BoundPort[]>
  /** Idempotent. */
  stop(): Promise<void>
  ports(): readonly BoundPort[]
}

/** The contract every protocol server fulfils. */
export interface LabServer<C> extends RunningServer {
  /**
   * Swaps the behaviour's configuration in place (same sockets); used by hot reload, which waits for what it
   * returns (a change that takes time, such as DNS's pump threads, is in force when the reload resolves).
   */
  configure(config: C): void | Promise<void>
  /**
   * Gives one device (a MAC) a configuration of its own beside the one every other device gets, or takes it
   * back (undefined): a trainee's exercise confined to their phone. A server without it cannot confine a
   * change, and the lab says so (`lab/device-views.ts`).
   */
  configureDevice?(mac: string, config: C | undefined): void
}

/** What every server's slice is made from besides its own block: the site, its users and hosts, the network. */
export interface SiteView {
  readonly network: Network
  readonly site: Site
  readonly users: readonly User[]
  readonly hosts: readonly Host[]
}

/** What a server's `check` may consult of the scenario being loaded, before anything binds. */
export interface ScenarioCheck {
  /**
   * The whole scenario document as written (defaults filled in), possibly invalid elsewhere: a check looks
   * only at the parts that are themselves well-formed.
   */
  readonly document: Readonly<Record<string, unknown>>
  /** The absolute path of a file named at `pointer`, resolved against the folder of the file that names it. */
  resolvePath(pointer: string, name: string): string
}

/**
 * One protocol, as the lab sees it: a folder under servers/ exports one of these and the server registry
 * (servers/index.ts) lists it. The scenario schema, the servers' configuration type, validation, the
 * runtime and the admin API are all built by mapping over the registry.
 * `S` is the schema of the server's block (`servers.<name>`); `C` its slice of a scenario; `R` state that
 * outlives server instances (one per lab: records added through the admin API, leases), which a reload onto
 * new sockets hands to the new instance; `D` what the server is injected.
 */
export interface ServerDefinition<S extends TObject, C, R = undefined, D extends LabDeps = LabDeps> {
  readonly name: string
  /** The schema of this server's block in a scenario. */
  readonly schema: S
  /**
   * Fields this server adds to every user of a scenario (`users[].<field>`), typed by declaration merging
   * into `UserFields` (`core/site.ts`) where the server declares them.
   */
  readonly userFields?: TProperties
  readonly sockets: readonly SocketSpec[]
  readonly faults: FaultCapabilities
  /** The scenario host roles this server stands in for (the port map lists those hosts). */
  readonly roles: readonly HostRole[]
  /** The part of a scenario this server is configured from. */
  slice(block: Static<S>, view: SiteView): C
  /** Names it answers for besides its roles' hosts (the port map lists them too). */
  names?(block: Static<S>, view: SiteView): readonly string[]
  /**
   * What the schema cannot say: cross-checks and the files the block names, checked now so that `validate`
   * reports every problem `up` would hit. It gets the block as written (defaults filled in) even when other
   * parts of it are invalid, and looks only at the parts that are well-formed. Pointers are from the
   * scenario's root. A check may replace a file name in the document by its absolute path.
   */
  check?(block: Readonly<Record<string, unknown>>, scenario: ScenarioCheck): readonly SchemaProblem[]
  /** Reads this server's journal events: the boot stage each belongs to and whether it went well. */
  readonly classify: EventClassifier
  /** Reads what the phone asked in this server's events (golden timelines compare boots by it). */
  readonly ask: AskReader
  /** Creates the per-lab state; called once when the lab is built. */
  runtime(deps: { readonly journal: Journal; readonly stateDir: string }): R
  create(config: C, listen: readonly ListenRequest[], deps: D, runtime: R): LabServer<C>
  /** Admin API routes of this server (registered under /<name>/…), working on the per-lab state. */
  routes?(app: FastifyInstance, runtime: R): void
}
