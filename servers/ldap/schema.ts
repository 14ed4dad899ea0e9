import { Type, type Static } from '@sinclair/typebox'
import { StringEnum, serverBlock, MessageTimeoutSchema } from '../../core/schema/common.js'
import type { FaultCapabilities } from '../../core/faults/types.js'

/** The `servers.ldap` block of a scenario. */
export const LdapSchema = serverBlock(
  {
    messageTimeoutMs: MessageTimeoutSchema,
    anonymous: StringEnum(['refuse', 'rootdse', 'allow'] as const, {
      default: 'rootdse',
      description:
        'What an unbound client may search: rootdse (AD’s default: the RootDSE only), allow (everything), refuse (not even the RootDSE).',
    }),
    caObjects: StringEnum(['lab', 'empty', 'none', 'ntauth-only'] as const, {
      default: 'lab',
      description:
        'certificationAuthority objects: lab (the lab root, as certutil -dspublish leaves it), empty (objects without cACertificate, F7), none (no objects, F7/F8), ntauth-only (the root only in NTAuthCertificates, F12).',
    }),
    enrollmentService: Type.Boolean({
      default: true,
      description:
        'A pKIEnrollmentService object (an Enterprise CA with web enrollment) naming the CA host; false for F7.',
    }),
    autodiscoverScp: Type.Boolean({
      default: true,
      description:
        'The Exchange Client Access server’s Autodiscover serviceConnectionPoint in the configuration NC (keywords 77378F46-…, serviceBindingInformation): how Outlook 2007 finds Autodiscover in the domain. The phone never searches for it (spec §3.1, F23).',
    }),
    globalCatalog: Type.Boolean({
      default: true,
      description: 'Also answer on the global catalog port 3268.',
    }),
    maxPageSize: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 1000,
      description: 'AD’s MaxPageSize policy.',
    }),
  },
  'Active Directory (LDAPv3): the directory a CX700 searches for its root certificate (spec §2.5).',
)
export type LdapConfig = Static<typeof LdapSchema>

export const LDAP_ERROR_CODES = [
  'busy',
  'unavailable',
  'unwillingToPerform',
  'invalidCredentials',
  'insufficientAccessRights',
  'operationsError',
  'protocolError',
] as const

export const LDAP_FAULTS: FaultCapabilities = {
  kinds: ['drop', 'delay', 'reset', 'garbage', 'corrupt', 'truncate', 'error', 'answer'],
  errorCodes: LDAP_ERROR_CODES,
  answerFields: {
    cACertificate: StringEnum(['empty', 'absent'] as const, {
      hint: 'empty (the attribute with no usable value) or absent (left out of every entry)',
    }),
    entries: StringEnum(['none'] as const, { hint: 'none: the search finds nothing' }),
  },
  matchFields: ['op', 'base', 'scope', 'filter', 'name'],
}
