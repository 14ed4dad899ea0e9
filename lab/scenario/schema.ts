import { Type, type Static } from '@sinclair/typebox'
import { FaultRuleSchema } from '../../core/faults/types.js'
import { PkiSchema } from '../../certs/schema.js'
import { ServersSchema } from '../../servers/index.js'
import { StringEnum } from '../../core/schema/common.js'
import { BOOT_STAGES } from '../../core/journal/events.js'
import { HostSchema, NetworkSchema, SiteSchema, UserSchema } from '../../core/site.js'

/**
 * Where a boot of the phone ends, named for what a QA engineer sees (ADR 0010): the end states `expect:`
 * can name and the emulator reports.
 */
export const END_STATES = [
  'no-address',
  'clock-not-set',
  'dc-not-found',
  'kerberos-skew',
  'cannot-validate-certificate',
  'certificate-loop',
  'pool-not-found',
  'tls-failed',
  'tls-untrusted',
  'sign-in-refused',
  'crashed-after-sign-in',
  'signed-in',
  'signed-in-not-updated',
  'signed-in-without-exchange',
] as const
export type EndState = (typeof END_STATES)[number]

/** Which journal events a rule means: by server, kind, boot stage and outcome (the server’s classifier), and a piece of the summary. */
export const JournalMatchSchema = Type.Object(
  {
    server: Type.Optional(Type.String({ minLength: 1 })),
    kind: Type.Optional(Type.String({ minLength: 1 })),
    contains: Type.Optional(Type.String({ minLength: 1, description: 'A piece of the event’s summary.' })),
    stage: Type.Optional(
      StringEnum(BOOT_STAGES, {
        description: 'The boot stage the server places the event in (its classifier).',
      }),
    ),
    ok: Type.Optional(
      Type.Boolean({ description: 'Whether the server classifies the event as going well (false: failed).' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
)
export const JournalRuleSchema = Type.Union([
  Type.Object(
    {
      order: Type.Array(JournalMatchSchema, {
        minItems: 2,
        description: 'Each happens, and the first of each comes after the first of the one before.',
      }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      none: JournalMatchSchema,
      before: Type.Optional(JournalMatchSchema),
    },
    { additionalProperties: false, description: 'No such event (before the first `before` event).' },
  ),
  Type.Object({ some: JournalMatchSchema }, { additionalProperties: false }),
])

export const ExpectSchema = Type.Object(
  {
    endState: Type.Optional(
      StringEnum(END_STATES, { description: 'Where an emulated phone must end up, e.g. signed-in.' }),
    ),
    status: Type.Optional(
      Type.Array(Type.String(), { description: 'Status lines the phone must show, in order.' }),
    ),
    journal: Type.Array(JournalRuleSchema, {
      default: [],
      description:
        'What the lab must see while the emulated phone runs, across protocols, e.g. { order: [{ server: dns, contains: _sipinternaltls._tcp }, { server: dns, contains: _sip._tls }] }.',
    }),
  },
  { additionalProperties: false, default: {} },
)

export const ScenarioSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Literal(1, { default: 1 }),
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', hint: 'kebab-case, e.g. ntp-three-years-ahead' }),
    description: Type.String({ default: '' }),
    extends: Type.Optional(
      Type.String({ minLength: 1, description: 'Path of a scenario this one overrides.' }),
    ),
    seed: Type.Integer({
      minimum: 0,
      maximum: 4294967295,
      default: 1,
      description: 'Seeds every probabilistic fault.',
    }),
    clock: Type.Object(
      {
        rate: Type.Number({
          minimum: 0,
          maximum: 1_000_000,
          default: 1,
          description:
            'How fast lab time runs: lab seconds per wall second (1 real time; 3600 a lab hour a second; 0 stopped, moved only by `cx700-lab clock advance`). Every server, the journal and emulated phones follow it.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    network: NetworkSchema,
    site: SiteSchema,
    users: Type.Array(UserSchema, { default: [] }),
    hosts: Type.Optional(Type.Array(HostSchema, { description: 'Derived from the site when absent.' })),
    pki: PkiSchema,
    servers: ServersSchema,
    faults: Type.Array(FaultRuleSchema, { default: [] }),
    expect: ExpectSchema,
  },
  {
    additionalProperties: false,
    $id: 'https://cx700-lab.test/scenario.schema.json',
    title: 'cx700-lab scenario',
  },
)

/** A scenario as the schema sees it once defaults are filled in. */
export type ScenarioDocument = Static<typeof ScenarioSchema>
