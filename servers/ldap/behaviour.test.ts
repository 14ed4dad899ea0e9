import { FilterParser, SearchRequest } from 'ldapts'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import { LdapResult, decodeLdapMessage, type LdapFilter } from './codec.js'
import {
  PagedResults,
  bind,
  bindForm,
  matches,
  search,
  selectAttributes,
  type SearchQuery,
} from './behaviour.js'
import { buildDirectory, normalizeDn, type DirectoryPki } from './directory.js'

const scenario = loadScenario(
  't.yaml',
  `version: 1
name: t
site: { sipDomain: contoso.test, adDomain: corp.contoso.test, netbiosName: CONTOSO }
users:
  - { signInAddress: alice@contoso.test, password: pw1, displayName: Alice Anders }
  - { signInAddress: bob@contoso.test, password: pw2, userName: bob.b@corp.contoso.test }
  - { signInAddress: carol@contoso.test, password: pw3, disabled: true, ocsEnabled: false }
  - { signInAddress: dave@contoso.test, password: pw4, passwordExpired: true }
`,
)
const ROOT = Buffer.from('30820101root', 'utf8')
const directory = (pki: Partial<DirectoryPki> = {}) =>
  buildDirectory({
    site: scenario.site,
    hosts: scenario.hosts,
    users: scenario.users,
    pki: { root: ROOT, issuing: ROOT, caObjects: 'lab', enrollmentService: true, ...pki },
  })

/** A filter as a client sends it (parsed from RFC 4515 text by ldapts, decoded by us). */
function filter(text: string): LdapFilter {
  const m = decodeLdapMessage(
    new SearchRequest({ messageId: 1, baseDN: '', filter: FilterParser.parseString(text) }).write(),
  )
  if (m.op.kind !== 'search') throw new Error('not a search')
  return m.op.filter
}

const CONFIG = 'CN=Configuration,DC=corp,DC=contoso,DC=test'
const q = (base: string, f: string, extra: Partial<SearchQuery> = {}): SearchQuery => ({
  base,
  scope: 'sub',
  filter: filter(f),
  attributes: [],
  typesOnly: false,
  sizeLimit: 0,
  ...extra,
})

describe('binds', () => {
  const d = directory()
  it.each([
    ['CONTOSO\\alice', 'netbios'],
    ['contoso\\ALICE', 'netbios'],
    ['alice@corp.contoso.test', 'upn'],
    ['CN=Alice Anders, CN=Users, DC=corp, DC=contoso, DC=test', 'dn'],
    ['bob.b@corp.contoso.test', 'upn'],
  ])('accepts %s (%s)', (name, form) => {
    const pw = name.toLowerCase().startsWith('bob') ? 'pw2' : 'pw1'
    const out = bind(d, name, pw)
    expect(out).toMatchObject({ code: LdapResult.success, form })
    expect(out.account?.user.signInAddress).toBe(
      name.toLowerCase().startsWith('bob') ? 'bob@contoso.test' : 'alice@contoso.test',
    )
  })

  it('refuses a wrong password and an unknown user alike with 49 and AD’s diagnostic; a name without password with 53', () => {
    expect(bind(d, 'CONTOSO\\alice', 'nope')).toMatchObject({
      code: 49,
      message: expect.stringContaining('data 52e'),
    })
    expect(bind(d, 'CONTOSO\\mallory', 'pw1').code).toBe(49)
    expect(bind(d, 'alice@contoso.test', 'pw1').code).toBe(49) // the sign-in address is not a UPN here
    expect(bind(d, 'CONTOSO\\alice', '').code).toBe(LdapResult.unwillingToPerform)
    expect(bind(d, '', '')).toMatchObject({ code: 0, form: 'anonymous' })
    expect(bindForm('uid=x,dc=y')).toBe('dn')
  })

  it('tells a disabled account (533) and an expired password (532) only to someone who knows the password', () => {
    expect(bind(d, 'CONTOSO\\carol', 'pw3')).toMatchObject({
      code: 49,
      message: expect.stringContaining('data 533'),
    })
    expect(bind(d, 'CONTOSO\\carol', 'nope').message).toContain('data 52e')
    expect(bind(d, 'CONTOSO\\dave', 'pw4').message).toContain('data 532')
    expect(bind(d, 'CONTOSO\\mallory', 'pw1').message).toContain('data 525')
    const carol = search(
      d,
      q('CN=Users,DC=corp,DC=contoso,DC=test', '(sAMAccountName=carol)', {
        attributes: ['userAccountControl', 'msRTCSIP-UserEnabled'],
      }),
    )
    expect(carol.entries[0]?.attributes.map((a) => [a.type, a.values.map(String)])).toEqual([
      ['userAccountControl', ['514']],
      ['msRTCSIP-UserEnabled', ['FALSE']],
    ])
  })
})

describe('searches: the two a CX700 makes (spec §2.5)', () => {
  it('finds the certificationAuthority objects with the root in cACertificate;binary', () => {
    const out = search(
      directory(),
      q(CONFIG, '(objectCategory=certificationAuthority)', { attributes: ['cACertificate;binary'] }),
    )
    expect(out.entries.map((e) => e.dn)).toEqual([
      `CN=CONTOSO-DC1-CA,CN=Certification Authorities,CN=Public Key Services,CN=Services,${CONFIG}`,
      `CN=CONTOSO-DC1-CA,CN=AIA,CN=Public Key Services,CN=Services,${CONFIG}`,
      `CN=NTAuthCertificates,CN=Public Key Services,CN=Services,${CONFIG}`,
    ])
    expect(out.entries[0]?.attributes).toEqual([{ type: 'cACertificate;binary', values: [ROOT] }])
  })

  it('finds the enrollment service and its dNSHostName', () => {
    const out = search(
      directory(),
      q(CONFIG, '(objectCategory=pKIEnrollmentService)', { attributes: ['dNSHostName'] }),
    )
    expect(out.entries).toHaveLength(1)
    expect(out.entries[0]?.attributes).toEqual([
      { type: 'dNSHostName', values: [Buffer.from('dc1.corp.contoso.test')] },
    ])
  })

  it('bends as the scenario says: empty objects, no objects, NTAuth only, no enrollment service', () => {
    const find = (pki: Partial<DirectoryPki>, f: string) =>
      search(directory(pki), q(CONFIG, f, { attributes: ['cACertificate'] })).entries
    expect(
      find({ caObjects: 'empty' }, '(objectCategory=certificationAuthority)').flatMap((e) => e.attributes),
    ).toEqual([])
    expect(find({ caObjects: 'none' }, '(objectCategory=certificationAuthority)')).toEqual([])
    expect(
      find({ caObjects: 'ntauth-only' }, '(objectCategory=certificationAuthority)').map((e) => e.dn),
    ).toEqual([`CN=NTAuthCertificates,CN=Public Key Services,CN=Services,${CONFIG}`])
    expect(find({ enrollmentService: false }, '(objectCategory=pKIEnrollmentService)')).toEqual([])
  })
})

describe('filter matching as AD does it', () => {
  const d = directory()
  const alice = d.entries.find((e) => e.dn.startsWith('CN=Alice Anders'))!
  it.each([
    ['(objectCategory=person)', true],
    ['(objectCategory=user)', true],
    ['(objectCategory=CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=contoso,DC=test)', true],
    ['(OBJECTCLASS=USER)', true],
    ['(objectClass=*)', true],
    ['(sAMAccountName=ALICE)', true],
    ['(cn=ali*and*rs)', true],
    ['(cn=*Anders)', true],
    ['(cn=B*)', false],
    ['(mail~=ALICE@contoso.test)', true],
    ['(userAccountControl>=500)', true],
    ['(userAccountControl<=511)', false],
    ['(userAccountControl:1.2.840.113556.1.4.803:=512)', true],
    ['(userAccountControl:1.2.840.113556.1.4.803:=2)', false],
    ['(userAccountControl:1.2.840.113556.1.4.804:=514)', true],
    ['(!(telephoneNumber=*))', true],
    ['(&(objectClass=user)(|(sn=x)(msRTCSIP-PrimaryUserAddress=sip:alice@contoso.test)))', true],
    ['(distinguishedName=cn=alice anders,cn=users,dc=corp,dc=contoso,dc=test)', true],
  ])('%s → %s', (f, want) => {
    expect(matches(alice, filter(f))).toBe(want)
  })
})

describe('scopes, selection, limits, paging', () => {
  const d = directory()
  it('base, one and sub scopes; noSuchObject names the nearest existing entry', () => {
    expect(search(d, q(CONFIG, '(objectClass=*)', { scope: 'base' })).entries.map((e) => e.dn)).toEqual([
      CONFIG,
    ])
    // The Schema partition is a naming context of its own: AD refers to it instead of returning it.
    const one = search(d, q(CONFIG, '(objectClass=*)', { scope: 'one' }), undefined, {
      referralHost: 'x.test',
    })
    expect(one.entries.map((e) => e.dn)).toEqual([`CN=Services,${CONFIG}`])
    expect(one.references).toEqual([`ldap://x.test/CN=Schema,${CONFIG}`])
    // The global catalog sees the whole forest.
    const gc = search(d, q(CONFIG, '(objectClass=*)', { scope: 'one' }), undefined, { gc: true })
    expect(gc.entries.map((e) => e.dn).sort()).toEqual(
      [`CN=Schema,${CONFIG}`, `CN=Services,${CONFIG}`].sort(),
    )
    const missing = search(d, q(`CN=Nope,CN=Services,${CONFIG}`, '(objectClass=*)'))
    expect(missing).toMatchObject({ code: LdapResult.noSuchObject, matchedDn: `CN=Services,${CONFIG}` })
    expect(normalizeDn('CN=A , DC=B')).toBe('cn=a,dc=b')
  })

  it('reads the RootDSE with an empty base', () => {
    const out = search(
      d,
      q('', '(objectClass=*)', {
        scope: 'base',
        attributes: ['configurationNamingContext', 'supportedLDAPVersion'],
      }),
    )
    expect(out.entries[0]?.attributes.map((a) => [a.type, a.values.map(String)])).toEqual([
      ['configurationNamingContext', [CONFIG]],
      ['supportedLDAPVersion', ['3', '2']],
    ])
    // The DC's clock, as AD publishes it (a client sees Kerberos skew there, F6).
    const time = search(
      d,
      q('', '(objectClass=*)', { scope: 'base', attributes: ['currentTime'] }),
      new Date('2026-11-25T10:30:00Z'),
    )
    expect(time.entries[0]?.attributes.map((a) => [a.type, a.values.map(String)])).toEqual([
      ['currentTime', ['20261125103000.0Z']],
    ])
  })

  it('selects attributes: * all, 1.1 none, names case-insensitively, typesOnly without values', () => {
    const e = d.entries.find((x) => x.dn.startsWith('CN=Alice'))!
    expect(selectAttributes(e, ['1.1'], false)).toEqual([])
    expect(selectAttributes(e, ['MAIL'], false)).toEqual([
      { type: 'mail', values: [Buffer.from('alice@contoso.test')] },
    ])
    expect(selectAttributes(e, ['*'], true).every((a) => a.values.length === 0)).toBe(true)
    expect(selectAttributes(e, ['*'], false).map((a) => a.type)).toContain('msRTCSIP-PrimaryUserAddress')
  })

  it('stops at sizeLimit with sizeLimitExceeded', () => {
    const out = search(d, q(CONFIG, '(objectClass=*)', { sizeLimit: 2 }))
    expect(out.code).toBe(LdapResult.sizeLimitExceeded)
    expect(out.entries).toHaveLength(2)
  })

  it('pages with cookies until the set is done, and refuses an unknown cookie', () => {
    const all = search(d, q(CONFIG, '(objectClass=*)')).entries
    const pages = new PagedResults()
    const seen: string[] = []
    let cookie: Buffer = Buffer.alloc(0)
    do {
      const page = pages.page(cookie, 3, () => all)!
      seen.push(...page.entries.map((e) => e.dn))
      cookie = page.cookie
    } while (cookie.length > 0)
    expect(seen).toEqual(all.map((e) => e.dn))
    expect(pages.page(Buffer.from('nope'), 3, () => all)).toBeUndefined()
  })
})
