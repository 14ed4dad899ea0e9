import { Type, type Static } from '@sinclair/typebox'
import { StringEnum } from '../core/schema/common.js'

export const PKI_HASHES = ['sha1', 'sha256', 'sha384'] as const
export type PkiHash = (typeof PKI_HASHES)[number]
export const PKI_VALIDITIES = ['valid', 'expired', 'not-yet-valid'] as const
export const PKI_ISSUERS = ['lab', 'untrusted', 'lookalike'] as const

const KeySize = Type.Union([Type.Literal(1024), Type.Literal(2048), Type.Literal(4096)])

/** How one server certificate is made; every field falls back to `pki.leaf`, then to the defaults. */
export const LeafProfileSchema = Type.Object(
  {
    hash: Type.Optional(
      StringEnum(PKI_HASHES, { description: 'Signature hash; the CX700 rejects SHA-2 (spec §2.5, F11).' }),
    ),
    keySize: Type.Optional(KeySize),
    validity: Type.Optional(
      StringEnum(PKI_VALIDITIES, {
        description: 'Dates relative to the lab clock: valid (−1 day … +1 year), expired, or not yet valid.',
      }),
    ),
    issuer: Type.Optional(
      StringEnum(PKI_ISSUERS, {
        description:
          'lab: the lab CA (published in AD); untrusted: a second CA published nowhere; lookalike: a root named like one of the phone’s built-in public roots, published nowhere (F13).',
      }),
    ),
    wrongHostname: Type.Optional(
      Type.Boolean({ description: 'Name a host the client did not ask for (wrong-host.<domain>).' }),
    ),
    serverAuth: Type.Optional(Type.Boolean({ description: 'false: the EKU lists clientAuth only.' })),
  },
  { additionalProperties: false },
)
export type LeafProfile = Static<typeof LeafProfileSchema>

/** The `pki` block of a scenario. */
export const PkiSchema = Type.Object(
  {
    hash: StringEnum(PKI_HASHES, {
      default: 'sha1',
      description:
        'Signature hash of the lab root (and intermediate); the CX700 cannot use SHA-2 (spec §2.5, F10).',
    }),
    keySize: Type.Union([Type.Literal(1024), Type.Literal(2048), Type.Literal(4096)], {
      default: 2048,
      description: 'RSA key size of the lab root (and intermediate).',
    }),
    generation: Type.Integer({
      minimum: 1,
      maximum: 99,
      default: 1,
      description:
        'Which generation of the lab’s CA: raising it stands up a new root and issuing CA with new keys, as an administrator reinstalling the enterprise CA would (a phone that stored the old root no longer trusts the servers: F28). Earlier generations stay in the state directory.',
    }),
    intermediate: Type.Boolean({
      default: false,
      description: 'Issue server certificates from an intermediate CA under the root.',
    }),
    leaf: Type.Object(LeafProfileSchema.properties, {
      ...LeafProfileSchema,
      default: {},
      description: 'Defaults for every server certificate.',
    }),
    hosts: Type.Record(Type.String({ format: 'hostname' }), LeafProfileSchema, {
      default: {},
      description: 'Per-host overrides, e.g. { ocspool.contoso.test: { hash: sha256 } } for F11.',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type PkiConfig = Static<typeof PkiSchema>

/** A leaf profile with every field decided. */
export type ResolvedLeafProfile = Required<LeafProfile>

export function resolveLeafProfile(pki: PkiConfig, host: string): ResolvedLeafProfile {
  const own = pki.hosts[host] ?? {}
  return {
    hash: own.hash ?? pki.leaf.hash ?? pki.hash,
    keySize: own.keySize ?? pki.leaf.keySize ?? 2048,
    validity: own.validity ?? pki.leaf.validity ?? 'valid',
    issuer: own.issuer ?? pki.leaf.issuer ?? 'lab',
    wrongHostname: own.wrongHostname ?? pki.leaf.wrongHostname ?? false,
    serverAuth: own.serverAuth ?? pki.leaf.serverAuth ?? true,
  }
}
