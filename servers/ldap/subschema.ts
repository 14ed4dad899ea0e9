/**
 * The subschema AD publishes at `CN=Aggregate,CN=Schema,CN=Configuration,<domain>` (RootDSE
 * `subschemaSubentry`), for the classes and attributes the lab's directory holds, with the OIDs and
 * syntaxes of AD's schema ([MS-ADA1], [MS-ADA2], [MS-ADA3], [MS-ADSC]) written as RFC 4512 descriptions.
 * Clients that read the schema before they search (ldap3's get_info=ALL, Apache Directory Studio) get it.
 * The OCS extensions (msRTCSIP-*) are left out: their OIDs are not in any source the project holds.
 */

const SYNTAX = {
  dn: '1.3.6.1.4.1.1466.115.121.1.12',
  string: '1.3.6.1.4.1.1466.115.121.1.15',
  integer: '1.3.6.1.4.1.1466.115.121.1.27',
  octets: '1.3.6.1.4.1.1466.115.121.1.40',
  oid: '1.3.6.1.4.1.1466.115.121.1.38',
  boolean: '1.3.6.1.4.1.1466.115.121.1.7',
} as const

/** [name, OID, syntax, single-valued] */
const ATTRIBUTES: readonly (readonly [string, string, keyof typeof SYNTAX, boolean])[] = [
  ['objectClass', '2.5.4.0', 'oid', false],
  ['cn', '2.5.4.3', 'string', true],
  ['distinguishedName', '2.5.4.49', 'dn', true],
  ['name', '1.2.840.113556.1.4.1', 'string', true],
  ['objectCategory', '1.2.840.113556.1.4.782', 'dn', true],
  ['dc', '0.9.2342.19200300.100.1.25', 'string', true],
  ['displayName', '1.2.840.113556.1.2.13', 'string', true],
  ['sAMAccountName', '1.2.840.113556.1.4.221', 'string', true],
  ['userPrincipalName', '1.2.840.113556.1.4.656', 'string', true],
  ['mail', '0.9.2342.19200300.100.1.3', 'string', true],
  ['userAccountControl', '1.2.840.113556.1.4.8', 'integer', true],
  ['cACertificate', '2.5.4.37', 'octets', false],
  ['authorityRevocationList', '2.5.4.38', 'octets', false],
  ['certificateRevocationList', '2.5.4.39', 'octets', false],
  ['dNSHostName', '1.2.840.113556.1.4.619', 'string', true],
  ['certificateTemplates', '1.2.840.113556.1.4.823', 'string', false],
  ['objectClasses', '2.5.21.6', 'string', false],
  ['attributeTypes', '2.5.21.5', 'string', false],
]

/** [name, OID, kind, superior, must, may] */
const CLASSES: readonly (readonly [
  string,
  string,
  'ABSTRACT' | 'STRUCTURAL' | 'AUXILIARY',
  string,
  string[],
  string[],
])[] = [
  ['top', '2.5.6.0', 'ABSTRACT', '', ['objectClass'], ['cn', 'name', 'distinguishedName', 'objectCategory']],
  ['person', '2.5.6.6', 'STRUCTURAL', 'top', ['cn'], []],
  ['organizationalPerson', '2.5.6.7', 'STRUCTURAL', 'person', [], []],
  [
    'user',
    '1.2.840.113556.1.5.9',
    'STRUCTURAL',
    'organizationalPerson',
    [],
    ['displayName', 'sAMAccountName', 'userPrincipalName', 'mail', 'userAccountControl'],
  ],
  ['container', '1.2.840.113556.1.3.23', 'STRUCTURAL', 'top', ['cn'], []],
  ['domain', '1.2.840.113556.1.5.66', 'ABSTRACT', 'top', ['dc'], []],
  ['domainDNS', '1.2.840.113556.1.5.67', 'STRUCTURAL', 'domain', [], []],
  ['configuration', '1.2.840.113556.1.5.12', 'STRUCTURAL', 'top', [], []],
  ['dMD', '1.2.840.113556.1.3.9', 'STRUCTURAL', 'top', ['cn'], []],
  [
    'certificationAuthority',
    '2.5.6.16',
    'STRUCTURAL',
    'top',
    ['cn', 'cACertificate', 'authorityRevocationList', 'certificateRevocationList'],
    [],
  ],
  [
    'pKIEnrollmentService',
    '1.2.840.113556.1.5.178',
    'STRUCTURAL',
    'top',
    [],
    ['cACertificate', 'certificateTemplates', 'dNSHostName', 'displayName'],
  ],
  ['subSchema', '2.5.20.1', 'STRUCTURAL', 'top', [], ['objectClasses', 'attributeTypes']],
]

const list = (names: readonly string[]): string =>
  names.length === 1 ? names[0]! : `( ${names.join(' $ ')} )`

/** The `attributeTypes` values (RFC 4512 §4.1.2). */
export function attributeTypes(): string[] {
  return ATTRIBUTES.map(
    ([name, oid, syntax, single]) =>
      `( ${oid} NAME '${name}' SYNTAX '${SYNTAX[syntax]}'${single ? ' SINGLE-VALUE' : ''} )`,
  )
}

/** The `objectClasses` values (RFC 4512 §4.1.1). */
export function objectClasses(): string[] {
  return CLASSES.map(([name, oid, kind, sup, must, may]) =>
    [
      `( ${oid} NAME '${name}'`,
      sup ? ` SUP ${sup}` : '',
      ` ${kind}`,
      must.length > 0 ? ` MUST ${list(must)}` : '',
      may.length > 0 ? ` MAY ${list(may)}` : '',
      ' )',
    ].join(''),
  )
}
