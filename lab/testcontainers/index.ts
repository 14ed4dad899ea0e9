import { randomBytes } from 'node:crypto'
import { AbstractStartedContainer, GenericContainer, Wait, type StartedTestContainer } from 'testcontainers'
import { LabError } from '../../core/errors.js'
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

/** What an emulated phone reports of one boot (`cx700-lab phone --json`), as the module reads it. */
export interface PhoneBootReport {
  readonly mac: string
  readonly endState: string
  /** The status lines the phone showed, in order. */
  readonly status: readonly string[]
  readonly steps: readonly { readonly step: string; readonly ok: boolean; readonly detail: string }[]
  /** What the phone learnt: its address, the DC, the pool, its e-mail … */
  readonly learnt: Readonly<Record<string, unknown>>
}

export interface PhoneContainerOptions {
  readonly image?: string
  /** The phone's MAC (a Polycom one: the lab's DHCP answers only those by default). */
  readonly mac: string
}

/** What the phone container is made of: pure, so it can be checked without an engine. */
export interface PhoneContainerSpec {
  readonly image: string
  readonly entrypoint: readonly string[]
  readonly command: readonly string[]
  readonly user: string
  readonly capabilities: readonly string[]
}

export function phoneContainerSpec(options: PhoneContainerOptions): PhoneContainerSpec {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(options.mac))
    throw new LabError(
      'LAB_ERR_CONTAINER',
      `a phone's MAC is six octets in hex (00:04:f2:…), not ${JSON.stringify(options.mac)}`,
    )
  // A phone has no address before DHCP: the one the engine gave the container goes first, so the phone's
  // traffic comes from its lease alone (with both, the kernel sends from the engine's, and the lab sees the
  // sign-in as another device than the lease).
  const boot = `ip addr flush dev eth0 && exec node /app/dist/cli/main.js phone --direct --interface eth0 --mac ${options.mac.toLowerCase()} --state /tmp/phones --json`
  return {
    image: options.image ?? LAB_IMAGE,
    entrypoint: ['/bin/sh', '-c'],
    command: [boot],
    // Root in its own container: it sets its leased address and a broadcast route on eth0.
    user: '0:0',
    capabilities: ['NET_ADMIN', 'NET_RAW'],
  }
}

/**
 * An emulated CX700 in a container of the lab's image, for a network it shares with a lab container that
 * serves DHCP there (`withDhcpInterface('eth0')`): it boots once — broadcast DHCP, then everything by the DNS the
 * lease names — and `boot()` gives its report.
 */
export class Cx700PhoneContainer extends GenericContainer {
  readonly #spec: PhoneContainerSpec

  constructor(options: PhoneContainerOptions) {
    const spec = phoneContainerSpec(options)
    super(spec.image)
    this.#spec = spec
  }

  spec(): PhoneContainerSpec {
    return this.#spec
  }

  /** Starts the phone, waits for its boot to end, and reads its report. */
  async boot(): Promise<{ report: PhoneBootReport; container: StartedTestContainer }> {
    const spec = this.#spec
    const started = await this.withEntrypoint([...spec.entrypoint])
      .withCommand([...spec.command])
      .withUser(spec.user)
      .withAddedCapabilities(...spec.capabilities)
      .withWaitStrategy(Wait.forOneShotStartup())
      .start()
    let out = ''
    for await (const chunk of await started.logs()) out += String(chunk)
    try {
      return { report: JSON.parse(out) as PhoneBootReport, container: started }
    } catch {
      throw new LabError('LAB_ERR_CONTAINER', `the phone container printed no report:\n${out.slice(0, 2000)}`)
    }
  }
}
