import { randomBytes } from 'node:crypto'
import { AbstractStartedContainer, GenericContainer, Wait, type StartedTestContainer } from 'testcontainers'
import { LabClient, type EndpointsAnswer } from '../client/index.js'

/**
 * A testcontainers module for users' own test suites (an optional peer dependency: this project's tests use
 * network namespaces, not Docker). The container runs the lab in netns mode — standard ports inside the
 * container, DHCP off unless a link is named — with the admin API on 8700 behind a bearer token.
 */

export const LAB_IMAGE = 'cx700-lab:local'
export const ADMIN_PORT = 8700
const SCENARIO_PATH = '/scenarios/scenario.yaml'

export interface LabContainerOptions {
  readonly image?: string
  /** Scenario YAML to run (default: the image's embedded default scenario). */
  readonly scenario?: string
  readonly token?: string
  /** The container's one link on the phones' segment, if DHCP should serve (e.g. eth0 on a macvlan network). */
  readonly dhcpInterface?: string
}

/** What the container is made of: pure, so it can be checked without a Docker engine. */
export interface LabContainerSpec {
  readonly image: string
  readonly command: readonly string[]
  readonly exposedPorts: readonly number[]
  readonly capabilities: readonly string[]
  /**
   * Kernel settings of the container's network namespace: the image runs as its unprivileged user, which
   * binds the standard ports (53, 88, 389 …) once the namespace lets any user bind below 1024.
   */
  readonly sysctls: Readonly<Record<string, string>>
  /** The admin token goes in the environment (CX700_LAB_TOKEN), never in the command line. */
  readonly environment: Readonly<Record<string, string>>
  readonly files: readonly { readonly content: string; readonly target: string }[]
  readonly token: string
  readonly health: { readonly path: string; readonly port: number }
}

export function labContainerSpec(options: LabContainerOptions = {}): LabContainerSpec {
  const token = options.token ?? randomBytes(18).toString('base64url')
  return {
    image: options.image ?? LAB_IMAGE,
    command: [
      'up',
      ...(options.scenario !== undefined ? [SCENARIO_PATH] : []),
      '--mode',
      'netns',
      ...(options.dhcpInterface !== undefined ? ['--interface', options.dhcpInterface] : []),
      '--admin',
      `0.0.0.0:${ADMIN_PORT}`,
    ],
    // TCP only (testcontainers maps TCP): the admin API, DNS over TCP, LDAP and the global catalog.
    exposedPorts: [ADMIN_PORT, 53, 389, 3268],
    capabilities: [
      'NET_BIND_SERVICE',
      ...(options.dhcpInterface !== undefined ? ['NET_ADMIN', 'NET_RAW'] : []),
    ],
    sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
    environment: { CX700_LAB_TOKEN: token },
    files: options.scenario !== undefined ? [{ content: options.scenario, target: SCENARIO_PATH }] : [],
    token,
    health: { path: '/health', port: ADMIN_PORT },
  }
}

export class Cx700LabContainer extends GenericContainer {
  #options: LabContainerOptions

  constructor(options: LabContainerOptions = {}) {
    super(options.image ?? LAB_IMAGE)
    this.#options = options
  }

  /** Runs this scenario (YAML text) instead of the embedded default. */
  withScenario(yaml: string): this {
    this.#options = { ...this.#options, scenario: yaml }
    return this
  }

  /** Lets DHCP answer on this container link (give the container exactly one link there: a macvlan). */
  withDhcpInterface(name: string): this {
    this.#options = { ...this.#options, dhcpInterface: name }
    return this
  }

  /** The definition start() applies. */
  spec(): LabContainerSpec {
    return labContainerSpec(this.#options)
  }

  override async start(): Promise<StartedCx700LabContainer> {
    const spec = this.spec()
    this.hostConfig.Sysctls = { ...this.hostConfig.Sysctls, ...spec.sysctls }
    this.withCommand([...spec.command])
      .withEnvironment({ ...spec.environment })
      .withExposedPorts(...spec.exposedPorts)
      .withAddedCapabilities(...spec.capabilities)
      .withCopyContentToContainer(spec.files.map((f) => ({ content: f.content, target: f.target })))
      .withWaitStrategy(Wait.forHttp(spec.health.path, spec.health.port).forStatusCode(200))
    return new StartedCx700LabContainer(await super.start(), spec.token)
  }
}

export class StartedCx700LabContainer extends AbstractStartedContainer {
  readonly #token: string

  constructor(started: StartedTestContainer, token: string) {
    super(started)
    this.#token = token
  }

  getAdminUrl(): string {
    return `http://${this.getHost()}:${this.getMappedPort(ADMIN_PORT)}`
  }

  /** The typed admin client, with the container's bearer token. */
  getClient(): LabClient {
    return new LabClient(this.getAdminUrl(), this.#token)
  }

  /** The lab's port map (addresses and ports inside the container). */
  getEndpoints(): Promise<EndpointsAnswer> {
    return this.getClient().endpoints()
  }
}
