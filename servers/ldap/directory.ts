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
}

/** Builds the directory for a scenario. */
export function buildDirectory(input: DirectoryInput): Directory {
  const { site, hosts, users, pki } = input
  const domainDn = dcName(site.adDomain)
  const configurationDn = `CN=Configuration,${domainDn}`
  const schemaDn = `CN=Schema,${configurationDn}`
  const cat = (name: string): string => `CN=${name},${schemaDn}`
  const dc = hosts.find((h) => h.roles.includes('dc'))
  const caHost = hosts.find((h) => h.roles.includes('ca')) ?? dc
  const dcShort = (dc?.name ?? `dc1.${site.adDomain}`).split('.')[0]!.toUpperCase()
  const caName = `${site.netbiosName}-${dcShort}-CA`
  const container = (dn: string, cn: string): DirEntry =>
    entry(dn, { objectClass: ['top', 'container'], objectCategory: cat('Container'), cn, name: cn }, [
      'container',
    ])
  const entries: DirEntry[] = []

  entries.push(
    entry(
      domainDn,
      {
        objectClass: ['top', 'domain', 'domainDNS'],
        objectCategory: cat('Domain-DNS'),
        dc: site.adDomain.split('.')[0]!,
        name: site.adDomain.split('.')[0]!,
      },
      ['domainDNS', 'domain'],
    ),
    container(`CN=Users,${domainDn}`, 'Users'),
  )

  const accounts: Account[] = users.map((user) => {
    const typed = user.userName
    const sam = accountName(typed)
    const upn = userPrincipalName(typed, site.adDomain).toLowerCase()
    const dn = `CN=${user.displayName},CN=Users,${domainDn}`
    entries.push(
      entry(
        dn,
        {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          objectCategory: cat('Person'),
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
      ),
    )
    const bindNames = new Set([
      normalizeDn(dn),
      `${site.netbiosName.toLowerCase()}\\${sam}`,
      `${sam}@${site.adDomain}`,
      upn,
      typed.toLowerCase(),
    ])
    return { user, dn, samAccountName: sam, userPrincipalName: upn, bindNames }
  })

  const services = `CN=Services,${configurationDn}`
  const pks = `CN=Public Key Services,${services}`
  entries.push(
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
    container(services, 'Services'),
    container(pks, 'Public Key Services'),
    container(`CN=Certification Authorities,${pks}`, 'Certification Authorities'),
    container(`CN=AIA,${pks}`, 'AIA'),
    container(`CN=Enrollment Services,${pks}`, 'Enrollment Services'),
  )
  const authority = (dn: string, cn: string, certificate: Buffer | undefined): DirEntry =>
    entry(
      dn,
      {
        objectClass: ['top', 'certificationAuthority'],
        objectCategory: cat('Certification-Authority'),
        cn,
        name: cn,
        // AD stores these two as a single zero octet when there is no list.
        authorityRevocationList: Buffer.from([0]),
        certificateRevocationList: Buffer.from([0]),
        ...(certificate ? { cACertificate: certificate } : {}),
      },
      ['certificationAuthority'],
    )
  if (pki.caObjects === 'lab' || pki.caObjects === 'empty') {
    const value = pki.caObjects === 'lab' ? pki.root : undefined
    entries.push(
      authority(`CN=${caName},CN=Certification Authorities,${pks}`, caName, value),
      authority(`CN=${caName},CN=AIA,${pks}`, caName, pki.caObjects === 'lab' ? pki.issuing : undefined),
      authority(
        `CN=NTAuthCertificates,${pks}`,
        'NTAuthCertificates',
        pki.caObjects === 'lab' ? pki.issuing : undefined,
      ),
    )
  } else if (pki.caObjects === 'ntauth-only') {
    entries.push(authority(`CN=NTAuthCertificates,${pks}`, 'NTAuthCertificates', pki.root))
  }
  if (pki.enrollmentService) {
    entries.push(
      entry(
        `CN=${caName},CN=Enrollment Services,${pks}`,
        {
          objectClass: ['top', 'pKIEnrollmentService'],
          objectCategory: cat('PKI-Enrollment-Service'),
          cn: caName,
          name: caName,
          displayName: caName,
          dNSHostName: caHost?.name ?? `dc1.${site.adDomain}`,
          cACertificate: pki.issuing,
          certificateTemplates: ['WebServer', 'DomainController', 'Machine', 'User'],
        },
        ['pKIEnrollmentService'],
      ),
    )
  }

  const rootDse = entry(
    '',
    {
      namingContexts: [domainDn, configurationDn, schemaDn],
      subschemaSubentry: `CN=Aggregate,${schemaDn}`,
      defaultNamingContext: domainDn,
      configurationNamingContext: configurationDn,
      schemaNamingContext: schemaDn,
      rootDomainNamingContext: domainDn,
      dnsHostName: dc?.name ?? `dc1.${site.adDomain}`,
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
  return {
    rootDse,
    entries,
    byKey: new Map(entries.map((e) => [e.key, e])),
    domainDn,
    configurationDn,
    schemaDn,
    namingContexts: new Map([domainDn, configurationDn, schemaDn].map((dn) => [normalizeDn(dn), dn])),
    accounts,
  }
}
