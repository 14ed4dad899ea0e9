import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { PeerSchema } from '../schema/common.js'

/**
 * One fault vocabulary for every protocol (house-style §3; names from toxiproxy, mountebank, msw, MockServer).
 * Each server says which kinds apply to it and what `error` codes and `answer` fields it understands.
 */
const FAULT_BRANCHES = [
  Type.Object(
    { kind: Type.Literal('drop') },
    { additionalProperties: false, description: 'No answer at all.' },
  ),
  Type.Object(
    {
      kind: Type.Literal('delay'),
      ms: Type.Integer({ minimum: 0, maximum: 600_000 }),
      jitterMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    },
    { additionalProperties: false, description: 'Answer late.' },
  ),
  Type.Object(
    { kind: Type.Literal('reset') },
    { additionalProperties: false, description: 'Destroy the TCP connection.' },
  ),
  Type.Object(
    { kind: Type.Literal('garbage'), bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_000 })) },
    { additionalProperties: false, description: 'Random bytes instead of the answer.' },
  ),
  Type.Object(
    { kind: Type.Literal('corrupt'), bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })) },
    { additionalProperties: false, description: 'Flip bits in N random bytes of the real answer.' },
  ),
  Type.Object(
    { kind: Type.Literal('truncate'), bytes: Type.Integer({ minimum: 0, maximum: 65_000 }) },
    { additionalProperties: false, description: 'Send only the first N bytes of the answer.' },
  ),
  Type.Object(
    { kind: Type.Literal('error'), code: Type.String({ minLength: 1 }) },
    {
      additionalProperties: false,
      description: "The protocol's own error (NTP KoD, DNS SERVFAIL, HTTP 503, …).",
    },
  ),
  Type.Object(
    {
      kind: Type.Literal('answer'),
      set: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    },
    {
      additionalProperties: false,
      description: 'A wrong but well-formed answer: the fields named are overridden.',
    },
  ),
] as const
export type Fault = Static<(typeof FAULT_BRANCHES)[number]>
/** A tagged union: the validator reports the errors of the branch `kind` names, or an unknown `kind`. */
export const FaultSchema = Type.Unsafe<Fault>({
  type: 'object',
  properties: { kind: { type: 'string' } },
  required: ['kind'],
  discriminator: { propertyName: 'kind' },
  oneOf: FAULT_BRANCHES,
})
export type FaultKind = Fault['kind']
export const FAULT_KINDS: readonly FaultKind[] = [
  'drop',
  'delay',
  'reset',
  'garbage',
  'corrupt',
  'truncate',
  'error',
  'answer',
]

export const MatcherSchema = Type.Object(
  {
    server: Type.Optional(Type.String({ minLength: 1 })),
    device: Type.Optional(Type.String({ minLength: 1, description: 'A MAC, IP or user name.' })),
    peer: Type.Optional(PeerSchema),
    fields: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
        description:
          'Protocol fields of the request (NTP `version`, DNS `qname`, …); strings may use * wildcards.',
      }),
    ),
  },
  { additionalProperties: false },
)
export type Matcher = Static<typeof MatcherSchema>

export const FaultRuleSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' })),
    match: Type.Optional(MatcherSchema),
    fault: FaultSchema,
    probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    times: Type.Optional(Type.Integer({ minimum: 1 })),
    after: Type.Optional(Type.Integer({ minimum: 0 })),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)
export type FaultRule = Static<typeof FaultRuleSchema>

/** What a server accepts of the vocabulary. */
export interface FaultCapabilities {
  readonly kinds: readonly FaultKind[]
  readonly errorCodes?: readonly string[]
  /** Field name → the schema its value must meet (a `hint` keyword, if any, says it in words). */
  readonly answerFields?: Readonly<Record<string, TSchema>>
  /** Protocol fields a matcher may name. */
  readonly matchFields?: readonly string[]
}
