import { createHmac, randomBytes } from 'node:crypto'
import { secretKey } from '../secret-key.js'
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { accountName, type Host, type Site, type User } from '../../site.js'
import { Etype, stringToKey, type Key } from './crypto.js'
import { NameType, type PrincipalName } from './messages.js'

/**
 * The lab's Kerberos realm as Active Directory keeps it: REALM is the upper-case AD domain; every scenario
 * user is a principal (their sAMAccountName; keys from their password with AD's salt, MS-KILE §3.1.1.2);
 * `krbtgt` and the service principals of the lab's hosts have keys derived from a per-lab secret kept in the
 * state directory (0600) — never served, never journaled. The KDC and every acceptor (HTTP, LDAP, SIP) read
 * the same realm, so a ticket the KDC issues is one they can open.
 */

export interface RealmPrincipal {
  readonly name: PrincipalName
  readonly kind: 'user' | 'krbtgt' | 'service'
  readonly user?: User
  /**
   * The account whose key a service principal's tickets are sealed in: the host's computer account (AD
   * registers HTTP/, ldap/, host/… of one host on its DC$ or server$ account, so they share a key).
   */
  readonly account?: string
}

/** The key version numbers the lab's keys carry (a keytab names them; AD's first password is kvno 1). */
export const SERVICE_KVNO = 2
export const USER_KVNO = 1

/** Reads (or creates, 32 random octets, 0600) the per-lab secret the realm's service keys come from. */
export function loadRealmSecret(stateDir: string): Uint8Array {
  const dir = join(stateDir, 'kerberos')
  const file = join(dir, 'secret')
  try {
    const s = readFileSync(file)
    if (s.length === 32) return s
  } catch {
    // first start: made below
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.new`
  writeFileSync(tmp, randomBytes(32), { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, file)
  return readFileSync(file)
}

/** The user's sAMAccountName as AD derives it from the scenario's user name. */
export const samOf = (u: User): string => accountName(u.userName)

export class KerberosRealm {
  readonly name: string
  readonly #secret: Uint8Array
  readonly #users: readonly User[]
  readonly #services: readonly string[]
  /** The computer account each SPN is registered on (its host's FQDN). */
  readonly #accounts: ReadonlyMap<string, string>
  readonly #userKeys = new Map<string, Key>()

  /** The domain's Kerberos policy: the clock skew every Kerberos service tolerates (AD: 5 minutes). */
  readonly maxSkewMs: number

  constructor(
    secret: Uint8Array,
    site: Site,
    users: readonly User[],
    hosts: readonly Host[],
    policy: { readonly maxSkewMs?: number } = {},
  ) {
    this.name = site.adDomain.toUpperCase()
    this.maxSkewMs = policy.maxSkewMs ?? 5 * 60_000
    this.#secret = secret
    this.#users = users
    const spns = servicePrincipals(hosts)
    this.#services = spns.map((s) => s.spn)
    this.#accounts = new Map(spns.map((s) => [s.spn, s.account]))
  }

  /** Every service principal of the lab's hosts, as `service/host`, spelled as AD registers them. */
  get services(): readonly string[] {
    return this.#services
  }

  get krbtgt(): PrincipalName {
    return { type: NameType.srvInst, names: ['krbtgt', this.name] }
  }

  /** A principal by name (case-insensitive; a UPN as an enterprise name finds its user). */
  find(p: PrincipalName): RealmPrincipal | undefined {
    const names = p.names.map((n) => n.toLowerCase())
    if (names.length === 2 && names[0] === 'krbtgt' && names[1] === this.name.toLowerCase())
      return { name: this.krbtgt, kind: 'krbtgt' }
    // The password-change service (RFC 3244): the one ticket a user with an expired password may get.
    if (names.join('/') === 'kadmin/changepw')
      return {
        name: { type: NameType.srvInst, names: ['kadmin', 'changepw'] },
        kind: 'service',
        account: 'krbtgt',
      }
    if (names.length === 2) {
      // Service principal names are case-insensitive in AD (HTTP/ and http/ are one SPN).
      const spn = this.#services.find((x) => x.toLowerCase() === names.join('/'))
      return spn
        ? {
            name: { type: NameType.srvInst, names: spn.split('/') },
            kind: 'service',
            account: this.#accounts.get(spn) ?? spn.toLowerCase(),
          }
        : undefined
    }
    if (names.length !== 1) return undefined
    const wanted = names[0]!
    const user = this.#users.find(
      (u) =>
        samOf(u) === wanted ||
        `${samOf(u)}@${this.name.toLowerCase()}` === wanted ||
        u.userName.toLowerCase() === wanted,
    )
    return user ? { name: { type: NameType.principal, names: [samOf(user)] }, kind: 'user', user } : undefined
  }

  /** AD's salt for a user's AES keys: REALM + sAMAccountName (MS-KILE §3.1.1.2). */
  saltOf(user: User): string {
    return `${this.name}${samOf(user)}`
  }

  /** The long-term key of a principal in an encryption type. */
  keyOf(p: RealmPrincipal, etype: number): Key {
    if (p.kind === 'user' && p.user) {
      const id = `${samOf(p.user)}:${etype}:${p.user.password}`
      let key = this.#userKeys.get(id)
      if (!key) {
        key = stringToKey(etype, p.user.password, this.saltOf(p.user))
        this.#userKeys.set(id, key)
      }
      return key
    }
    const length = etype === Etype.aes256 ? 32 : 16
    // One key per account: every SPN of a host shares its computer account's key, as in AD.
    const account = p.kind === 'service' ? (p.account ?? p.name.names.join('/').toLowerCase()) : 'krbtgt'
    const label = `${account}@${this.name}:${etype}`
    const bytes = createHmac('sha256', secretKey(this.#secret)).update(label).digest().subarray(0, length)
    return { etype, bytes }
  }
}

/**
 * The service principals AD registers for the lab's hosts (HTTP for IIS, ldap and cifs for the DC, sip for
 * the pool, host for every one), in FQDN and short form, each on its host's computer account.
 */
export function servicePrincipals(hosts: readonly Host[]): { spn: string; account: string }[] {
  const out = new Map<string, string>()
  for (const h of hosts) {
    const short = h.name.split('.')[0]!
    const add = (service: string): void => {
      for (const name of [h.name, short])
        if (!out.has(`${service}/${name}`)) out.set(`${service}/${name}`, h.name)
    }
    add('host')
    if (h.roles.some((r) => r === 'ca' || r === 'exchange' || r === 'pool' || r === 'dus' || r === 'abs'))
      add('HTTP')
    if (h.roles.includes('dc')) {
      add('ldap')
      add('cifs')
    }
    if (h.roles.includes('pool')) add('sip')
  }
  return [...out].map(([spn, account]) => ({ spn, account }))
}
