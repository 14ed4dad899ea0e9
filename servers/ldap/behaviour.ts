import { randomBytes } from 'node:crypto'
import { LdapResult, type EncodedAttribute, type LdapFilter, type Scope } from './codec.js'
import { logon, type LogonOutcome } from '../../core/auth/logon.js'
import { normalizeDn, type Account, type DirEntry, type Directory } from './directory.js'

/**
 * What the AD double answers, pure apart from paging cookies: binds in every name form AD takes, searches
 * with AD's matching (case-insensitive names and values, objectCategory by class name, bitwise matching
 * rules), attribute selection with `;binary`, typesOnly, sizeLimit, and paged results.
 */

/** AD's own diagnostic texts, so that what a client logs looks like what it would log against a DC. */
export const AD_MESSAGES = {
  badPassword: logonFailed('52e'),
  bindFirst:
    '000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563',
  unauthenticated:
    '00002028: LdapErr: DSID-0C0903C3, comment: unauthenticated bind (DN without password) disallowed, data 0, v4563',
  noSuchObject: '0000208D: NameErr: DSID-0310028C, problem 2001 (NO_OBJECT), data 0, best match of:',
} as const

/** AD's invalidCredentials diagnostic for a logon that failed with this Win32 error (data 52e, 533, …). */
export function logonFailed(data: string): string {
  return `80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data ${data}, v4563`
}

export type BindForm = 'anonymous' | 'dn' | 'netbios' | 'upn' | 'other'

export interface BindOutcome {
  readonly code: number
  readonly message: string
  readonly form: BindForm
  readonly account?: Account
  /** What the DC said to the logon, for a bind with a name and a password. */
  readonly logon?: LogonOutcome
}

export function bindForm(name: string): BindForm {
  if (name === '') return 'anonymous'
  if (name.includes('\\')) return 'netbios'
  if (/^[^=,@]+@[^=,@]+$/.test(name)) return 'upn'
  if (/^\s*[a-z][\w-]*\s*=/i.test(name)) return 'dn'
  return 'other'
}

/** A simple bind: an empty name and password is anonymous; a name without a password is refused (RFC 4513 §5.1.2). */
export function bind(directory: Directory, name: string, password: string): BindOutcome {
  const form = bindForm(name)
  if (form === 'anonymous') {
    return password === ''
      ? { code: LdapResult.success, message: '', form }
      : { code: LdapResult.invalidCredentials, message: AD_MESSAGES.badPassword, form }
  }
  if (password === '')
    return { code: LdapResult.unwillingToPerform, message: AD_MESSAGES.unauthenticated, form }
  const wanted = form === 'dn' ? normalizeDn(name) : name.toLowerCase()
  const account = directory.accounts.find((a) => a.bindNames.has(wanted))
  const outcome = logon(account?.user, account?.user.password === password)
  if (!account || !outcome.ok)
    return {
      code: LdapResult.invalidCredentials,
      message: logonFailed(outcome.ldapData),
      form,
      logon: outcome,
    }
  return { code: LdapResult.success, message: '', form, account, logon: outcome }
}

// -------------------------------------------------------------------------------------------- matching

const BINARY = new Set([
  'cacertificate',
  'authorityrevocationlist',
  'certificaterevocationlist',
  'objectguid',
  'objectsid',
])
const DN_VALUED = new Set(['distinguishedname', 'objectcategory', 'member', 'memberof', 'manager'])

/** An attribute description without options: `cACertificate;binary` → `cacertificate`. */
export function baseName(description: string): string {
  return description.split(';')[0]!.toLowerCase()
}

function text(v: Buffer): string {
  return v.toString('utf8').toLowerCase()
}

function valueEquals(attr: string, a: Buffer, b: Buffer): boolean {
  if (BINARY.has(attr)) return a.equals(b)
  if (DN_VALUED.has(attr)) return normalizeDn(a.toString('utf8')) === normalizeDn(b.toString('utf8'))
  return text(a) === text(b)
}

function order(a: Buffer, b: Buffer): number {
  const x = a.toString('utf8')
  const y = b.toString('utf8')
  if (/^-?\d+$/.test(x) && /^-?\d+$/.test(y))
    return Number(BigInt(x) - BigInt(y) > 0n) - Number(BigInt(x) - BigInt(y) < 0n)
  return x.toLowerCase() < y.toLowerCase() ? -1 : x.toLowerCase() > y.toLowerCase() ? 1 : 0
}

function values(e: DirEntry, attribute: string): readonly Buffer[] | undefined {
  return e.attributes.get(baseName(attribute))?.values
}

/** Whether an entry matches a filter. AD treats an absent attribute as FALSE (so NOT of it is TRUE). */
export function matches(e: DirEntry, f: LdapFilter): boolean {
  switch (f.type) {
    case 'and':
      return f.filters.every((x) => matches(e, x))
    case 'or':
      return f.filters.some((x) => matches(e, x))
    case 'not':
      return !matches(e, f.filter)
    case 'present':
      return baseName(f.attribute) === 'objectclass' || values(e, f.attribute) !== undefined
    case 'equality':
    case 'approx': {
      const attr = baseName(f.attribute)
      // objectCategory takes a class name as AD does: (objectCategory=pKIEnrollmentService).
      if (attr === 'objectcategory' && e.categories.has(text(f.value))) return true
      return (values(e, attr) ?? []).some((v) => valueEquals(attr, v, f.value))
    }
    case 'ge':
      return (values(e, f.attribute) ?? []).some((v) => order(v, f.value) >= 0)
    case 'le':
      return (values(e, f.attribute) ?? []).some((v) => order(v, f.value) <= 0)
    case 'substrings':
      return (values(e, f.attribute) ?? []).some((raw) => {
        const v = text(raw)
        let at = 0
        if (f.initial) {
          if (!v.startsWith(text(f.initial))) return false
          at = f.initial.length
        }
        for (const part of f.any) {
          const i = v.indexOf(text(part), at)
          if (i < 0) return false
          at = i + part.length
        }
        return f.final ? v.length - f.final.length >= at && v.endsWith(text(f.final)) : true
      })
    case 'extensible': {
      // AD's bitwise rules (LDAP_MATCHING_RULE_BIT_AND / _OR), e.g. (userAccountControl:1.2.840.113556.1.4.803:=2)
      if (f.attribute === undefined) return false
      const want = Number(f.value.toString('utf8'))
      const and = f.rule === '1.2.840.113556.1.4.803'
      const or = f.rule === '1.2.840.113556.1.4.804'
      if (!and && !or)
        return (values(e, f.attribute) ?? []).some((v) => valueEquals(baseName(f.attribute!), v, f.value))
      return (values(e, f.attribute) ?? []).some((v) => {
        const have = Number(v.toString('utf8'))
        return and ? (have & want) === want : (have & want) !== 0
      })
    }
  }
}

// --------------------------------------------------------------------------------------------- searching

export interface SearchQuery {
  readonly base: string
  readonly scope: Scope
  readonly filter: LdapFilter
  readonly attributes: readonly string[]
  readonly typesOnly: boolean
  readonly sizeLimit: number
}

export interface FoundEntry {
  readonly dn: string
  readonly attributes: readonly EncodedAttribute[]
}

export interface SearchOutcome {
  readonly code: number
  readonly message: string
  readonly matchedDn?: string
  readonly entries: readonly FoundEntry[]
  /** Continuation references (RFC 4511 §4.5.3) to the naming contexts below the base that the search does not enter. */
  readonly references?: readonly string[]
}

/** The naming context an entry belongs to: the longest naming context its DN ends with ('' for none). */
export function namingContextOf(directory: Directory, key: string): string {
  let best = ''
  for (const nc of directory.namingContexts.keys())
    if ((key === nc || key.endsWith(`,${nc}`)) && nc.length > best.length) best = nc
  return best
}

/**
 * The naming contexts a search from `baseKey` reaches only by reference, as AD answers on its LDAP port: those
 * directly below the base's own context and within the scope (a subtree search of the domain refers to
 * Configuration, one of Configuration to Schema).
 */
function subordinateContexts(directory: Directory, baseKey: string, baseNc: string, scope: Scope): string[] {
  if (scope === 'base') return []
  return [...directory.namingContexts.keys()].filter(
    (nc) =>
      nc !== baseNc &&
      inScope({ key: nc, parent: nc.slice(nc.indexOf(',') + 1) }, baseKey, scope) &&
      namingContextOf(directory, nc.slice(nc.indexOf(',') + 1)) === baseNc,
  )
}

/** Picks and names the attributes a search asked for: `*` or none → all, `1.1` → none, names as asked (with options). */
export function selectAttributes(
  e: DirEntry,
  requested: readonly string[],
  typesOnly: boolean,
): EncodedAttribute[] {
  const out: EncodedAttribute[] = []
  const all = requested.length === 0 || requested.includes('*')
  const seen = new Set<string>()
  const add = (type: string, base: string): void => {
    const a = e.attributes.get(base)
    if (!a || seen.has(type.toLowerCase())) return
    seen.add(type.toLowerCase())
    out.push({ type, values: typesOnly ? [] : a.values })
  }
  if (all) for (const [base, a] of e.attributes) add(a.name, base)
  for (const r of requested) {
    if (r === '*' || r === '1.1' || r === '+') continue
    const base = baseName(r)
    const own = e.attributes.get(base)
    // AD answers `cACertificate;binary` under that name; other options are dropped.
    add(
      r.toLowerCase().endsWith(';binary') ? `${own?.name ?? r.split(';')[0]!};binary` : (own?.name ?? r),
      base,
    )
  }
  return out
}

function inScope(e: Pick<DirEntry, 'key' | 'parent'>, baseKey: string, scope: Scope): boolean {
  if (scope === 'base') return e.key === baseKey
  if (scope === 'one') return e.parent === baseKey
  return baseKey === '' || e.key === baseKey || e.key.endsWith(`,${baseKey}`)
}

/** Runs a search over the directory (the RootDSE for an empty base with base scope). */
/** AD's GeneralizedTime, as RootDSE's currentTime carries it (20261125103000.0Z). */
export function generalizedTime(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}.0Z`
}

/**
 * Answers a search. `now` is the DC's clock: RootDSE carries it as `currentTime`, as AD does — how a client
 * sees the skew that breaks Kerberos (spec F6).
 */
export function search(
  directory: Directory,
  q: SearchQuery,
  now?: Date,
  options: { readonly gc?: boolean; readonly referralHost?: string } = {},
): SearchOutcome {
  const baseKey = normalizeDn(q.base)
  if (baseKey === '' && q.scope === 'base') {
    const attributes = new Map(directory.rootDse.attributes)
    if (now)
      attributes.set('currenttime', { name: 'currentTime', values: [Buffer.from(generalizedTime(now))] })
    const rootDse = { ...directory.rootDse, attributes }
    const hit = matches(rootDse, q.filter)
    return {
      code: LdapResult.success,
      message: '',
      entries: hit ? [{ dn: '', attributes: selectAttributes(rootDse, q.attributes, q.typesOnly) }] : [],
    }
  }
  if (baseKey !== '' && !directory.byKey.has(baseKey)) {
    let matched = baseKey
    while (matched !== '' && !directory.byKey.has(matched))
      matched = matched.includes(',') ? matched.slice(matched.indexOf(',') + 1) : ''
    const matchedDn = directory.byKey.get(matched)?.dn ?? ''
    return {
      code: LdapResult.noSuchObject,
      message: `${AD_MESSAGES.noSuchObject}\n\t'${matchedDn}'`,
      matchedDn,
      entries: [],
    }
  }
  // On the LDAP port a search stays in its base's naming context (the GC port sees the whole forest).
  const confined = !options.gc && baseKey !== ''
  const baseNc = confined ? namingContextOf(directory, baseKey) : ''
  const found: FoundEntry[] = []
  for (const e of directory.entries) {
    if (!inScope(e, baseKey, q.scope) || !matches(e, q.filter)) continue
    if (confined && namingContextOf(directory, e.key) !== baseNc) continue
    if (q.sizeLimit > 0 && found.length >= q.sizeLimit)
      return { code: LdapResult.sizeLimitExceeded, message: 'Size Limit Exceeded', entries: found }
    found.push({ dn: e.dn, attributes: selectAttributes(e, q.attributes, q.typesOnly) })
  }
  const references = confined
    ? subordinateContexts(directory, baseKey, baseNc, q.scope).map(
        (nc) => `ldap://${options.referralHost ?? ''}/${directory.namingContexts.get(nc) ?? nc}`,
      )
    : []
  return {
    code: LdapResult.success,
    message: '',
    entries: found,
    ...(references.length > 0 ? { references } : {}),
  }
}

/** A connection's paged searches (RFC 2696): the rest of each result set, by cookie. */
export class PagedResults {
  readonly #sets = new Map<string, readonly FoundEntry[]>()

  /** One page: from a new result set (empty cookie) or one a cookie names; undefined for an unknown cookie. */
  page(
    cookie: Buffer,
    size: number,
    fresh: () => readonly FoundEntry[],
  ): { entries: readonly FoundEntry[]; cookie: Buffer } | undefined {
    let rest: readonly FoundEntry[]
    const key = cookie.toString('hex')
    if (cookie.length === 0) rest = fresh()
    else {
      const held = this.#sets.get(key)
      if (!held) return undefined
      this.#sets.delete(key)
      rest = held
    }
    if (size <= 0) return { entries: [], cookie: Buffer.alloc(0) } // size 0: the client abandons the search
    const entries = rest.slice(0, size)
    if (rest.length <= size) return { entries, cookie: Buffer.alloc(0) }
    const next = randomBytes(8)
    if (this.#sets.size >= 64) this.#sets.delete(this.#sets.keys().next().value!)
    this.#sets.set(next.toString('hex'), rest.slice(size))
    return { entries, cookie: next }
  }
}
