import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import type { Clock } from '../core/clock.js'
import { LabError } from '../core/errors.js'
import type { Host, Site } from '../core/site.js'
import { certificatePem, pem } from './export.js'
import {
  createCa,
  createLeaf,
  generateRsaKey,
  validityDates,
  x509,
  type Authority,
  type KeyPairDer,
} from './issue.js'
import { resolveLeafProfile, type PkiConfig, type PkiHash, type ResolvedLeafProfile } from './schema.js'

/**
 * The lab PKI. CAs are generated on first use into `<state>/pki/` and reused on every later start — a real
 * phone caches the root it installed, so a new CA per restart would break every phone in the lab. Server
 * certificates are issued at start from them, one per TLS host, with the scenario's profile; their keys
 * are kept too, so a warm start only signs. No private key ever leaves the state directory.
 */

const YEAR = 365.25 * 86_400_000

/**
 * From when every lab CA is valid: the start of the CX700's era (Office Communications Server 2007), not the
 * moment the CA was made. A lab's clock starts at the host's time and only moves forward, but a CA outlives
 * the run that made it: a state directory kept from a host whose clock ran ahead, a host clock set back, or a
 * lab clock that a test or a story starts in the past would otherwise find the lab's own CA "not yet valid",
 * and every TLS step of the boot would fail for a reason no story asked for. So a CA covers every lab time a
 * scenario or `cx700-lab clock` can reach — and no earlier: a phone whose clock was never set (the emulator's
 * GUESS unsetClock, 2006-01-01; F5) still finds the lab’s certificates not yet valid, as spec §2.3 expects.
 * Server certificates are dated from the lab clock at start (`validityDates`), so their profiles (expired,
 * not yet valid) keep meaning what a story says.
 */
export const LAB_CA_NOT_BEFORE = Date.parse('2007-01-01T00:00:00Z')

const NOTICE = 'O=cx700-lab TEST LAB ONLY'

/** The CAs the lab can hold; each variant (hash, key size) is a CA of its own. */
export type CaKind = 'root' | 'intermediate' | 'untrusted' | 'lookalike'

/** The lab's CA of a generation after the first gets its own folder and name (a CA reinstalled with a new key). */
const generationSuffix = (generation: number, sep: string): string =>
  generation > 1 ? `${sep}g${generation}` : ''

function caDirName(kind: CaKind, hash: PkiHash, bits: number, generation = 1): string {
  return `${kind}-${hash}-${bits}${generationSuffix(generation, '-')}`
}

function caSubject(kind: CaKind, hash: PkiHash, bits: number, generation = 1): string {
  const variant = `${hash}/${bits}-bit${generationSuffix(generation, ' ')}`
  switch (kind) {
    case 'root':
      return `CN=cx700-lab Root CA (${variant}), ${NOTICE}`
    case 'intermediate':
      return `CN=cx700-lab Issuing CA (${variant}), ${NOTICE}`
    case 'untrusted':
      return `CN=cx700-lab Untrusted CA (published nowhere) ${variant}, ${NOTICE}`
    case 'lookalike':
      // Named like an entry of the phone's built-in root list (spec §2.5), but it is ours: for F13 training.
      return 'CN=GTE CyberTrust Global Root, OU="GTE CyberTrust Solutions, Inc.", O=GTE Corporation, C=US'
  }
}

function pemBody(text: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(text)
  if (!m) throw new Error(`no ${label} block`)
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'))
}

function keyFromPem(text: string, cert?: x509.X509Certificate): KeyPairDer {
  const privateKey = pemBody(text, 'PRIVATE KEY')
  const publicKey = cert ? new Uint8Array(cert.publicKey.rawData) : pemBody(text, 'PUBLIC KEY')
  return { privateKey, publicKey }
}

function writePrivate(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 })
}

/** Where the PKI lives in a state directory. */
export function pkiDir(stateDir: string): string {
  return join(stateDir, 'pki')
}

/** Reads a CA from its folder, or undefined when there is none yet. */
function readCa(dir: string): Authority | undefined {
  const certFile = join(dir, 'cert.pem')
  if (!existsSync(certFile)) return undefined
  if (!existsSync(join(dir, 'key.pem')))
    throw new LabError(
      'LAB_ERR_PKI_STATE',
      `Failed to read the lab CA in ${dir}: its key.pem is missing (a state directory changed by hand, or copied in part). Run "cx700-lab certs reset" to make a new CA (phones must then be hard-reset).`,
    )
  try {
    const certificate = new x509.X509Certificate(readFileSync(certFile, 'utf8'))
    return { certificate, key: keyFromPem(readFileSync(join(dir, 'key.pem'), 'utf8'), certificate) }
  } catch (cause) {
    throw new LabError(
      'LAB_ERR_PKI_STATE',
      `Failed to read the lab CA in ${dir}: ${(cause as Error).message}. Run "cx700-lab certs reset" to make a new one (phones must then be hard-reset).`,
      { cause },
    )
  }
}

/**
 * Loads a CA, or makes and stores it. The folder appears whole or not at all (written aside, then renamed):
 * two labs starting at once on one state directory end up with the same CA.
 */
async function loadOrCreateCa(
  stateDir: string,
  kind: CaKind,
  hash: PkiHash,
  bits: number,
  now: number,
  issuer?: Authority,
  generation = 1,
): Promise<{ ca: Authority; created: boolean }> {
  const root = pkiDir(stateDir)
  const dir = join(root, caDirName(kind, hash, bits, generation))
  removeResetLeftovers(stateDir)
  const existing = readCa(dir)
  if (existing) return { ca: existing, created: false }
  mkdirSync(root, { recursive: true, mode: 0o700 })
  const key = await generateRsaKey(bits)
  const certificate = await createCa({
    name: caSubject(kind, hash, bits, generation),
    hash,
    key,
    notBefore: new Date(Math.min(LAB_CA_NOT_BEFORE, now - 86_400_000)),
    notAfter: new Date(now + (issuer ? 10 : 20) * YEAR),
    ...(issuer ? { issuer } : {}),
  })
  const tmp = mkdtempSync(join(root, '.new-'))
  writeFileSync(join(tmp, 'cert.pem'), certificatePem(certificate))
  writePrivate(join(tmp, 'key.pem'), pem(key.privateKey, 'PRIVATE KEY'))
  try {
    renameSync(tmp, dir)
    return { ca: { certificate, key }, created: true }
  } catch {
    rmSync(tmp, { recursive: true, force: true })
    const theirs = readCa(dir)
    if (!theirs)
      throw new LabError(
        'LAB_ERR_PKI_STATE',
        `Failed to store the lab CA in ${dir}. Check that the state directory is writable.`,
      )
    return { ca: theirs, created: false }
  }
}

/** A server's key, kept per host and key size so a warm start only signs. */
async function loadOrCreateKey(stateDir: string, host: string, bits: number): Promise<KeyPairDer> {
  const dir = join(pkiDir(stateDir), 'keys')
  const file = join(dir, `${host}-${bits}.pem`)
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8')
    return keyFromPem(text)
  }
  const key = await generateRsaKey(bits)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.tmp`
  writePrivate(tmp, pem(key.privateKey, 'PRIVATE KEY') + pem(key.publicKey, 'PUBLIC KEY'))
  renameSync(tmp, file)
  return key
}

/** One server certificate, ready for a TLS listener. */
export interface ServerCertificate {
  readonly host: string
  /** The DNS names and addresses it is valid for. */
  readonly dnsNames: readonly string[]
  readonly ipAddresses: readonly string[]
  readonly profile: ResolvedLeafProfile
  readonly certificate: x509.X509Certificate
  /** The CA certificates between it and its root (the intermediate, if any). */
  readonly intermediates: readonly x509.X509Certificate[]
  /** The root it chains to (the lab root, or the untrusted / look-alike one). */
  readonly root: x509.X509Certificate
  /** Leaf then intermediates, PEM, each block ending in a newline. */
  readonly certPem: string
  readonly keyPem: string
}

/** The names a host's certificate carries: its own, and the aliases clients reach its roles by. */
export function namesFor(host: Host, site: Site): string[] {
  const names = [host.name]
  if (host.roles.includes('pool')) names.push(`sip.${site.sipDomain}`)
  if (host.roles.includes('dus'))
    names.push(`ucupdates-r2.${site.dhcpDomain}`, `ucupdates-r2.${site.sipDomain}`)
  if (host.roles.includes('exchange'))
    names.push(`autodiscover.${site.smtpDomain}`, site.smtpDomain, `autodiscover.${site.sipDomain}`)
  return [...new Set(names.map((n) => n.toLowerCase()))]
}

/** The hosts that speak TLS: all but the time server. */
export function tlsHosts(hosts: readonly Host[]): Host[] {
  return hosts.filter((h) => h.roles.some((r) => r !== 'ntp'))
}

export interface PkiOptions {
  readonly stateDir: string
  readonly clock: Clock
  readonly config: PkiConfig
  readonly site: Site
  readonly hosts: readonly Host[]
  /**
   * Where the lab actually listens (127.0.0.1 in loopback mode, where hosts keep their scenario address):
   * the fallback certificate names these too, so that a client going to https://127.0.0.1 can verify it.
   */
  readonly listenAddresses?: readonly string[]
}

export class LabPki {
  /** The lab root: what AD publishes in cACertificate and /certsrv hands out. */
  readonly root: Authority
  readonly intermediate: Authority | undefined
  readonly servers: readonly ServerCertificate[]
  /** One certificate for every TLS host's names: for a connection that says nothing (no SNI, one address). */
  readonly fallback: ServerCertificate
  /** CAs made during this start (empty on a warm start). */
  readonly created: readonly string[]
  /** The state directory the CAs are kept in. */
  readonly stateDir: string

  private constructor(init: {
    stateDir: string
    root: Authority
    intermediate: Authority | undefined
    servers: ServerCertificate[]
    fallback: ServerCertificate
    created: string[]
  }) {
    this.root = init.root
    this.intermediate = init.intermediate
    this.servers = init.servers
    this.fallback = init.fallback
    this.created = init.created
    this.stateDir = init.stateDir
  }

  /** The chain the lab publishes, root first: what /certsrv's PKCS#7 holds. */
  get chain(): x509.X509Certificate[] {
    return this.intermediate
      ? [this.root.certificate, this.intermediate.certificate]
      : [this.root.certificate]
  }

  /**
   * The certificate for a connection: the host whose address it arrived on (when that tells hosts apart),
   * else the host named by SNI, else the multi-name fallback — CE-era clients may send no SNI.
   */
  select(connection: {
    localAddress?: string | undefined
    servername?: string | undefined
  }): ServerCertificate {
    const local = connection.localAddress?.replace(/^::ffff:/, '')
    if (local !== undefined) {
      const onAddress = this.servers.filter((s) => s.ipAddresses.includes(local))
      if (onAddress.length === 1) return onAddress[0]!
    }
    const sni = connection.servername?.toLowerCase()
    if (sni) {
      const named =
        this.servers.find((s) => s.host === sni) ?? this.servers.find((s) => s.dnsNames.includes(sni))
      if (named) return named
    }
    return this.fallback
  }

  /** Opens the PKI in a state directory: loads or makes the CAs, then issues every server certificate. */
  static async open(options: PkiOptions): Promise<LabPki> {
    const { stateDir, config, site } = options
    const issuing = await Issuing.open(stateDir, options.clock.now(), config)
    const hosts = tlsHosts(options.hosts)
    const servers = await Promise.all(
      hosts.map((h) => {
        const host = h.name.toLowerCase()
        return issuing.issue(host, namesFor(h, site), [h.address], resolveLeafProfile(config, host))
      }),
    )
    // The certificate for a connection no host's name or address picks: every name and address at once.
    const allNames = [...new Set(hosts.flatMap((h) => namesFor(h, site)))]
    const listening = (options.listenAddresses ?? []).filter((a) => a !== '0.0.0.0' && a !== '::')
    const allAddresses = [...new Set([...hosts.map((h) => h.address), ...listening])]
    const fallbackProfile = resolveLeafProfile({ ...config, hosts: {} }, 'lab-default')
    const fallback = await issuing.issue('lab-default', allNames, allAddresses, fallbackProfile)
    const { root, intermediate, created } = issuing
    return new LabPki({ stateDir, root, intermediate, servers, fallback, created })
  }
}

/** A CA loaded from the state directory, or made there (its directory's name added to `created`). */
async function openCa(
  where: { readonly stateDir: string; readonly now: number; readonly created: string[] },
  kind: CaKind,
  hash: PkiHash,
  bits: number,
  issuer?: Authority,
  generation = 1,
): Promise<Authority> {
  const r = await loadOrCreateCa(where.stateDir, kind, hash, bits, where.now, issuer, generation)
  if (r.created) where.created.push(caDirName(kind, hash, bits, generation))
  return r.ca
}

/** The CAs of one opening of the PKI (loaded or made, once each) and the leaves they issue. */
class Issuing {
  readonly #others = new Map<string, Authority>()

  private constructor(
    readonly stateDir: string,
    readonly now: number,
    readonly created: string[],
    readonly root: Authority,
    readonly intermediate: Authority | undefined,
  ) {}

  /** The lab's root, and its intermediate when the scenario asks for one. */
  static async open(stateDir: string, now: number, config: PkiOptions['config']): Promise<Issuing> {
    const where = { stateDir, now, created: [] }
    const root = await openCa(where, 'root', config.hash, config.keySize, undefined, config.generation)
    const intermediate = config.intermediate
      ? await openCa(where, 'intermediate', config.hash, config.keySize, root, config.generation)
      : undefined
    return new Issuing(stateDir, now, where.created, root, intermediate)
  }

  get #labIssuer(): Authority {
    return this.intermediate ?? this.root
  }

  /** The lab's issuing CA, or a CA of another kind (an untrusted or expired one) a host's profile names. */
  async #issuerFor(p: ResolvedLeafProfile): Promise<Authority> {
    if (p.issuer === 'lab') return this.#labIssuer
    const key = `${p.issuer}-${p.hash}`
    let a = this.#others.get(key)
    if (!a) {
      a = await openCa(this, p.issuer, p.hash, 2048)
      this.#others.set(key, a)
    }
    return a
  }

  async issue(
    host: string,
    names: string[],
    addresses: string[],
    profile: ResolvedLeafProfile,
  ): Promise<ServerCertificate> {
    const issuer = await this.#issuerFor(profile)
    const key = await loadOrCreateKey(this.stateDir, host, profile.keySize)
    const domain = host.split('.').slice(1).join('.') || host
    const dnsNames = profile.wrongHostname ? [`wrong-host.${domain}`] : names
    const ipAddresses = profile.wrongHostname ? [] : addresses
    const certificate = await createLeaf({
      commonName: dnsNames[0]!,
      dnsNames,
      ipAddresses,
      hash: profile.hash,
      key,
      serverAuth: profile.serverAuth,
      issuer,
      ...validityDates(profile.validity, this.now),
    })
    const intermediates =
      this.intermediate && issuer === this.intermediate ? [this.intermediate.certificate] : []
    return {
      host,
      dnsNames,
      ipAddresses,
      profile,
      certificate,
      intermediates,
      root: issuer === this.#labIssuer ? this.root.certificate : issuer.certificate,
      certPem: [certificate, ...intermediates].map(certificatePem).join(''),
      keyPem: pem(key.privateKey, 'PRIVATE KEY'),
    }
  }
}

/** The lab roots kept in a state directory (every variant made so far), for `cx700-lab certs show`. */
export function storedAuthorities(
  stateDir: string,
): { name: string; dir: string; certificate: x509.X509Certificate }[] {
  const root = pkiDir(stateDir)
  if (!existsSync(root)) return []
  const out: { name: string; dir: string; certificate: x509.X509Certificate }[] = []
  for (const kind of ['root', 'intermediate', 'untrusted', 'lookalike'] as const) {
    for (const hash of ['sha1', 'sha256', 'sha384'] as const) {
      for (const bits of [1024, 2048, 4096]) {
        const name = caDirName(kind, hash, bits)
        const ca = readCa(join(root, name))
        if (ca) out.push({ name, dir: join(root, name), certificate: ca.certificate })
      }
    }
  }
  return out
}

/**
 * One stored CA, made now if there is none yet: the lab root for `certs export` on a fresh state, the
 * untrusted CA for /certsrv's "chain from the wrong CA" fault.
 */
export async function ensureAuthority(
  stateDir: string,
  kind: 'root' | 'untrusted',
  hash: PkiHash,
  bits: number,
  now: number,
): Promise<Authority> {
  return (await loadOrCreateCa(stateDir, kind, hash, bits, now)).ca
}

/**
 * Forgets every CA and key: the next start makes new ones. Atomic: the PKI folder is renamed aside in one
 * step, then deleted, so a reset killed at any point leaves either the old CA whole or none — never a CA
 * without its key. What an interrupted reset left aside is deleted by the next reset or start.
 */
export function resetPki(stateDir: string): boolean {
  const dir = pkiDir(stateDir)
  removeResetLeftovers(stateDir)
  if (!existsSync(dir)) return false
  const aside = `${dir}.reset-${process.pid}-${Date.now()}`
  renameSync(dir, aside)
  rmSync(aside, { recursive: true, force: true })
  return true
}

/** Deletes PKI folders a killed reset renamed aside but did not delete. */
export function removeResetLeftovers(stateDir: string): void {
  let names: string[]
  try {
    names = readdirSync(stateDir)
  } catch {
    return
  }
  for (const name of names)
    if (name.startsWith('pki.reset-')) rmSync(join(stateDir, name), { recursive: true, force: true })
}
