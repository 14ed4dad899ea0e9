import type { Clock } from './clock.js'
import type { FaultEngine } from './faults/engine.js'
import type { FaultCapabilities } from './faults/types.js'
import type { Journal } from './journal/journal.js'
import type { Logger } from './logger.js'
import type { Random } from './random.js'
import type { Scenario } from './scenario/model.js'
import type { HostRole } from './scenario/schema.js'
import type { FastifyInstance } from 'fastify'
import type { LabPki } from '../certs/pki.js'

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
  readonly clock: Clock
  readonly random: Random
  readonly journal: Journal
  readonly faults: FaultEngine
  /** The lab PKI in force (it changes when a reload changes the scenario's `pki`). */
  readonly pki: () => LabPki
  /** Every bound socket of the lab (a server handing out another's URL needs its real port). */
  readonly endpoints: () => readonly BoundPort[]
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
  /** Swaps the behaviour's configuration in place (same sockets); used by hot reload. */
  configure(config: C): void
}

/**
 * One protocol, as the lab runtime sees it: a folder under servers/ exports one of these.
 * `C` is the server's slice of a scenario; `R` is state that outlives server instances (one per lab: records
 * added through the admin API, leases), which a reload onto new sockets hands to the new instance.
 */
export interface ServerDefinition<C, R = undefined> {
  readonly name: string
  readonly sockets: readonly SocketSpec[]
  readonly faults: FaultCapabilities
  /** The scenario host roles this server stands in for (the port map lists those hosts). */
  readonly roles: readonly HostRole[]
  /** The part of a scenario this server is configured from. */
  slice(scenario: Scenario): C
  /** Creates the per-lab state; called once when the lab is built. */
  runtime(deps: { readonly journal: Journal; readonly stateDir: string }): R
  create(config: C, listen: readonly ListenRequest[], deps: LabDeps, runtime: R): LabServer<C>
  /** Admin API routes of this server (registered under /<name>/…), working on the per-lab state. */
  routes?(app: FastifyInstance, runtime: R): void
}
