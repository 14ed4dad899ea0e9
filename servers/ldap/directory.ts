import { accountName, userPrincipalName, type Host, type Site, type User } from '../../core/site.js'
import { attributeTypes, objectClasses } from './subschema.js'

/** pwdLastSet, a FILETIME (100 ns since 1601): 2025-01-01, and 2000-01-01 for an expired password. */
const PWD_LAST_SET = '133801632000000000'
const PWD_LAST_SET_EXPIRED = '125911584000000000'

/**
 * The Active Directory a CX700 searches, pure: the domain naming context with the scenario's users, the
 * Configuration NC skeleton AD provisions (CN=Public Key Services: Certification Authorities, Enrollment
 * Services, AIA, NTAuthCertificates), the schema container, and the RootDSE. Attribute values are bytes.
 */

export interface Attribute {
  /** As AD writes the name: `cACertificate`, `dNSHostName`. */
  readonly name: string
  readonly values: readonly Buffer[]
}

export interface DirEntry {
  readonly dn: string
  /** The DN normalised for comparison: lower case, no spaces around `,` and `=`. */
  readonly key: string
  readonly parent: string
  /** Lower-cased attribute name → attribute. */
  readonly attributes: ReadonlyMap<string, Attribute>
  /** What `(objectCategory=…)` matches: the category DN (normalised) and the class names AD maps to it. */
  readonly categories: ReadonlySet<string>
}

export interface Directory {
  readonly rootDse: DirEntry
  readonly entries: readonly DirEntry[]
  readonly byKey: ReadonlyMap<string, DirEntry>
  readonly domainDn: string
  readonly configurationDn: string
  readonly schemaDn: string
  /** The naming contexts (normalised DN → DN): the domain, Configuration and Schema partitions. */
  readonly namingContexts: ReadonlyMap<string, string>
  /** The accounts a bind can name, with every name form AD accepts for them. */
  readonly accounts: readonly Account[]
}

export interface Account {
  readonly user: User
  readonly dn: string
  readonly samAccountName: string
  readonly userPrincipalName: string
  /** Lower-cased names a simple bind may use: the DN, DOMAIN\sam, sam@domain, the UPN, the scenario's user name. */
  readonly bindNames: ReadonlySet<string>
}

/** What the directory holds of the lab PKI and how the scenario bends it (spec F7, F8, F12). */
export interface DirectoryPki {
  /** The lab root, DER. */
  readonly root: Buffer
  /** The CA that issues server certificates (the root, or the intermediate), DER. */
  readonly issuing: Buffer
  /** lab: published as AD CS publishes it; empty: CA objects without a cACertificate value; none: no CA objects; ntauth-only: only NTAuthCertificates holds the root (F12). */
  readonly caObjects: 'lab' | 'empty' | 'none' | 'ntauth-only'
  /** Whether a pKIEnrollmentService object (an Enterprise CA with web enrollment) exists. */
  readonly enrollmentService: boolean
}

export function normalizeDn(dn: string): string {
  return dn
    .split(',')
    .map((rdn) =>
      rdn
        .split('=')
        .map((p) => p.trim())
        .join('='),
    )
    .join(',')
    .toLowerCase()
}

function parentOf(key: string): string {
  const i = key.indexOf(',')
  return i < 0 ? '' : key.slice(i + 1)
}

type Values = string | Buffer | readonly (string | Buffer)[]

function entry(
  dn: string,
  attrs: Record<string, Values>,
  categories: readonly string[] = [],
  options: { readonly rootDse?: boolean } = {},
): DirEntry {
  const attributes = new Map<string, Attribute>()
  const put = (name: string, v: Values): void => {
    const list = (Array.isArray(v) ? v : [v]) as (string | Buffer)[]
    attributes.set(name.toLowerCase(), {
      name,
      values: list.map((x) => (typeof x === 'string' ? Buffer.from(x, 'utf8') : x)),
    })
  }
  for (const [k, v] of Object.entries(attrs)) put(k, v)
  // The RootDSE is no object of the directory: it has no distinguishedName (RFC 4512 §5.1).
  if (!options.rootDse) put('distinguishedName', dn)
  const key = normalizeDn(dn)
  const category = attrs.objectCategory
  const cats = new Set(categories.map((c) => c.toLowerCase()))
  if (typeof category === 'string') cats.add(normalizeDn(category))
  return { dn, key, parent: parentOf(key), attributes, categories: cats }
}

function dcName(domain: string): string {
  return domain
    .split('.')
    .map((l) => `DC=${l}`)
    .join(',')
}

export interface DirectoryInput {
  readonly site: Site
  readonly hosts: readonly Host[]
  readonly users: readonly User[]
  readonly pki: DirectoryPki
  /** The Exchange server whose Autodiscover service connection point the directory holds, if any. */
  readonly autodiscoverScp?: { readonly server: string; readonly url: string }
}

/** The names the directory is built from: its naming contexts, the CA's name and the DC's. */
interface Names {
  readonly domainDn: string
  readonly configurationDn: string
  readonly schemaDn: string
  /** The Public Key Services container, where the CA objects live (spec §2.5). */
  readonly pks: string
  readonly caName: string
  readonly caHostName: string
  readonly dcName: string
  /** The DC's short name, upper-cased (DC1). */
  readonly dcShort: string
  /** An objectCategory in the schema. */
  readonly cat: (name: string) => string
}

function directoryNames(site: Site, hosts: readonly Host[]): Names {
  const domainDn = dcName(site.adDomain)
  const configurationDn = `CN=Configuration,${domainDn}`
  const schemaDn = `CN=Schema,${configurationDn}`
  const dc = hosts.find((h) => h.roles.includes('dc'))
  const caHost = hosts.find((h) => h.roles.includes('ca')) ?? dc
  const dcHost = dc?.name ?? `dc1.${site.adDomain}`
  const dcShort = dcHost.split('.')[0]!.toUpperCase()
  return {
    domainDn,
    configurationDn,
    schemaDn,
    pks: `CN=Public Key Services,CN=Services,${configurationDn}`,
    caName: `${site.netbiosName}-${dcShort}-CA`,
    caHostName: caHost?.name ?? `dc1.${site.adDomain}`,
    dcName: dcHost,
    dcShort,
    cat: (name) => `CN=${name},${schemaDn}`,
  }
}

const container = (n: Names, dn: string, cn: string): DirEntry =>
  entry(dn, { objectClass: ['top', 'container'], objectCategory: n.cat('Container'), cn, name: cn }, [
    'container',
  ])

/** A user's entry under CN=Users, and the account its binds and logons find it by. */
function userAccount(n: Names, site: Site, user: User): { entry: DirEntry; account: Account } {
  const typed = user.userName
  const sam = accountName(typed)
  const upn = userPrincipalName(typed, site.adDomain).toLowerCase()
  const dn = `CN=${user.displayName},CN=Users,${n.domainDn}`
  const userEntry = entry(
    dn,
    {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      objectCategory: n.cat('Person'),
      cn: user.displayName,
      name: user.displayName,
      displayName: user.displayName,
      sAMAccountName: sam,
      userPrincipalName: upn,
      mail: user.email,
      'msRTCSIP-PrimaryUserAddress': `sip:${user.signInAddress}`,
      'msRTCSIP-UserEnabled': user.ocsEnabled ? 'TRUE' : 'FALSE',
      // NORMAL_ACCOUNT (0x200), with ACCOUNTDISABLE (0x2) for a disabled one (MS-ADTS §2.2.16).
      userAccountControl: user.disabled ? '514' : '512',
      // Password last set: a year before the lab's epoch when it has expired (past any maxPwdAge).
      pwdLastSet: user.passwordExpired ? PWD_LAST_SET_EXPIRED : PWD_LAST_SET,
    },
    ['person', 'organizationalPerson', 'user'],
  )
  const bindNames = new Set([
    normalizeDn(dn),
    `${site.netbiosName.toLowerCase()}\\${sam}`,
    `${sam}@${site.adDomain}`,
    upn,
    typed.toLowerCase(),
  ])
  return { entry: userEntry, account: { user, dn, samAccountName: sam, userPrincipalName: upn, bindNames } }
}

/** The domain's own entries: the domain object and the Users container. */
function domainEntries(n: Names, site: Site): DirEntry[] {
  const dc = site.adDomain.split('.')[0]!
  return [
    entry(
      n.domainDn,
      { objectClass: ['top', 'domain', 'domainDNS'], objectCategory: n.cat('Domain-DNS'), dc, name: dc },
      ['domainDNS', 'domain'],
    ),
    container(n, `CN=Users,${n.domainDn}`, 'Users'),
  ]
}

/** The configuration and schema naming contexts, the subschema, and the Public Key Services containers. */
function configurationEntries(n: Names): DirEntry[] {
  const { configurationDn, schemaDn, pks, cat } = n
  return [
    entry(
      configurationDn,
      { objectClass: ['top', 'configuration'], objectCategory: cat('Configuration'), cn: 'Configuration' },
      ['configuration'],
    ),
    entry(schemaDn, { objectClass: ['top', 'dMD'], objectCategory: cat('DMD'), cn: 'Schema' }, ['dMD']),
    entry(
      `CN=Aggregate,${schemaDn}`,
      {
        objectClass: ['top', 'subSchema'],
        objectCategory: cat('SubSchema'),
        cn: 'Aggregate',
        name: 'Aggregate',
        objectClasses: objectClasses(),
        attributeTypes: attributeTypes(),
      },
      ['subSchema'],
    ),
    container(n, `CN=Services,${configurationDn}`, 'Services'),
    container(n, pks, 'Public Key Services'),
    container(n, `CN=Certification Authorities,${pks}`, 'Certification Authorities'),
    container(n, `CN=AIA,${pks}`, 'AIA'),
    container(n, `CN=Enrollment Services,${pks}`, 'Enrollment Services'),
  ]
}

/** A certificationAuthority object, with its cACertificate when there is one. */
function authority(n: Names, dn: string, cn: string, certificate: Buffer | undefined): DirEntry {
  return entry(
    dn,
    {
      objectClass: ['top', 'certificationAuthority'],
      objectCategory: n.cat('Certification-Authority'),
      cn,
      name: cn,
      // AD stores these two as a single zero octet when there is no list.
      authorityRevocationList: Buffer.from([0]),
      certificateRevocationList: Buffer.from([0]),
      ...(certificate ? { cACertificate: certificate } : {}),
    },
    ['certificationAuthority'],
  )
}

/** The CA objects the phone's trust bootstrap searches for, as the scenario's PKI says (F7, F12, spec §2.5). */
function caEntries(n: Names, pki: DirectoryPki): DirEntry[] {
  const { pks, caName } = n
  const out: DirEntry[] = []
  if (pki.caObjects === 'lab' || pki.caObjects === 'empty') {
    const lab = pki.caObjects === 'lab'
    out.push(
      authority(n, `CN=${caName},CN=Certification Authorities,${pks}`, caName, lab ? pki.root : undefined),
      authority(n, `CN=${caName},CN=AIA,${pks}`, caName, lab ? pki.issuing : undefined),
      authority(n, `CN=NTAuthCertificates,${pks}`, 'NTAuthCertificates', lab ? pki.issuing : undefined),
    )
  } else if (pki.caObjects === 'ntauth-only') {
    out.push(authority(n, `CN=NTAuthCertificates,${pks}`, 'NTAuthCertificates', pki.root))
  }
  if (pki.enrollmentService)
    out.push(
      entry(
        `CN=${caName},CN=Enrollment Services,${pks}`,
        {
          objectClass: ['top', 'pKIEnrollmentService'],
          objectCategory: n.cat('PKI-Enrollment-Service'),
          cn: caName,
          name: caName,
          displayName: caName,
          dNSHostName: n.caHostName,
          cACertificate: pki.issuing,
          certificateTemplates: ['WebServer', 'DomainController', 'Machine', 'User'],
        },
        ['pKIEnrollmentService'],
      ),
    )
  return out
}

/** The keyword that marks an Autodiscover service connection point (Exchange 2007; what Outlook searches for). */
export const AUTODISCOVER_SCP_KEYWORD = '77378F46-2C66-4aa9-A6A6-3E7A48B19596'

/**
 * The Client Access server's Autodiscover serviceConnectionPoint, where Exchange 2007 setup writes it in the
 * configuration NC: how Outlook 2007 finds Autodiscover inside the domain — and the phone never looks (spec §3.1).
 */
function autodiscoverScpEntries(
  n: Names,
  scp: { readonly server: string; readonly url: string },
): DirEntry[] {
  const short = scp.server.split('.')[0]!.toUpperCase()
  const org = `CN=First Organization,CN=Microsoft Exchange,CN=Services,${n.configurationDn}`
  const dn = `CN=${short},CN=Autodiscover,CN=Protocols,CN=${short},CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,${org}`
  return [
    container(n, `CN=Microsoft Exchange,CN=Services,${n.configurationDn}`, 'Microsoft Exchange'),
    entry(
      dn,
      {
        objectClass: ['top', 'leaf', 'connectionPoint', 'serviceConnectionPoint'],
        objectCategory: n.cat('Service-Connection-Point'),
        cn: short,
        name: short,
        keywords: [AUTODISCOVER_SCP_KEYWORD, 'Site=Default-First-Site-Name'],
        serviceBindingInformation: scp.url,
        serviceDNSName: scp.server,
        serviceClassName: 'ms-Exchange-AutoDiscover-Service',
      },
      ['serviceConnectionPoint'],
    ),
  ]
}

/** The RootDSE as a Windows Server 2003 DC answers it. */
function rootDseEntry(n: Names, site: Site): DirEntry {
  const { domainDn, configurationDn, schemaDn, dcShort } = n
  return entry(
    '',
    {
      namingContexts: [domainDn, configurationDn, schemaDn],
      subschemaSubentry: `CN=Aggregate,${schemaDn}`,
      defaultNamingContext: domainDn,
      configurationNamingContext: configurationDn,
      schemaNamingContext: schemaDn,
      rootDomainNamingContext: domainDn,
      dnsHostName: n.dcName,
      serverName: `CN=${dcShort},CN=Servers,CN=Default-First-Site-Name,CN=Sites,${configurationDn}`,
      ldapServiceName: `${site.adDomain}:${dcShort.toLowerCase()}$@${site.adDomain.toUpperCase()}`,
      supportedLDAPVersion: ['3', '2'],
      supportedSASLMechanisms: ['GSSAPI', 'GSS-SPNEGO', 'EXTERNAL', 'DIGEST-MD5'],
      supportedControl: ['1.2.840.113556.1.4.319', '1.2.840.113556.1.4.801', '1.2.840.113556.1.4.473'],
      // Active Directory, the "V51" (Windows Server 2003) level and LDAP integration (MS-ADTS 3.1.1.3.4.3).
      supportedCapabilities: ['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670', '1.2.840.113556.1.4.1791'],
      supportedLDAPPolicies: ['MaxPageSize', 'MaxQueryDuration'],
      isGlobalCatalogReady: 'TRUE',
      isSynchronized: 'TRUE',
      domainFunctionality: '3',
      forestFunctionality: '3',
      domainControllerFunctionality: '3',
    },
    [],
    { rootDse: true },
  )
}

/** Builds the directory for a scenario: the domain and its users, the configuration, the CA objects. */
export function buildDirectory(input: DirectoryInput): Directory {
  const { site, hosts, users, pki } = input
  const n = directoryNames(site, hosts)
  const people = users.map((u) => userAccount(n, site, u))
  const entries = [
    ...domainEntries(n, site),
    ...people.map((p) => p.entry),
    ...configurationEntries(n),
    ...caEntries(n, pki),
    ...(input.autodiscoverScp ? autodiscoverScpEntries(n, input.autodiscoverScp) : []),
  ]
  const { domainDn, configurationDn, schemaDn } = n
  return {
    rootDse: rootDseEntry(n, site),
    entries,
    byKey: new Map(entries.map((e) => [e.key, e])),
    domainDn,
    configurationDn,
    schemaDn,
    namingContexts: new Map([domainDn, configurationDn, schemaDn].map((dn) => [normalizeDn(dn), dn])),
    accounts: people.map((p) => p.account),
  }
}
