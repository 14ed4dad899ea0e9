import type { Clock } from './clock.js'
import type { FaultEngine } from './faults/engine.js'
import type { FaultCapabilities } from './faults/types.js'
import type { Journal } from './journal/journal.js'
import type { Logger } from './logger.js'
import type { Random } from './random.js'
import type { HostRole } from './scenario/schema.js'

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
}

/** The contract every protocol server fulfils. */
export interface LabServer<C> extends AsyncDisposable {
  readonly name: string
  readonly state: ReadyState
  /** Resolves once every socket is bound; rejects with LAB_ERR_SERVER_BIND naming the port. */
  start(): Promise<readonly BoundPort[]>
  /** Idempotent. */
  stop(): Promise<void>
  ports(): readonly BoundPort[]
  /** Swaps the behaviour's configuration in place (same sockets); used by hot reload. */
  configure(config: C): void
}

/** One protocol, as the lab runtime sees it: a folder under servers/ exports one of these. */
export interface ServerDefinition<C> {
  readonly name: string
  readonly sockets: readonly SocketSpec[]
  readonly faults: FaultCapabilities
  /** The scenario host roles this server stands in for (the port map lists those hosts). */
  readonly roles: readonly HostRole[]
  create(config: C, listen: readonly ListenRequest[], deps: LabDeps): LabServer<C>
}
