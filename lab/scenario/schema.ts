import { Type, type Static } from '@sinclair/typebox'
import { FaultRuleSchema } from '../../core/faults/types.js'
import { PkiSchema } from '../../certs/schema.js'
import { ServersSchema, USER_FIELDS } from '../../servers/index.js'
import { DurationSchema, StringEnum } from '../../core/schema/common.js'
import { BOOT_STAGES } from '../../core/journal/events.js'
import { HostSchema, NetworkSchema, SiteSchema, UserSchema, type UserFields } from '../../core/site.js'

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
  'updating',
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
      from: Type.Optional(
        Type.Object(JournalMatchSchema.properties, {
          ...JournalMatchSchema,
          description:
            'Look only at the events after the first one like this (e.g. a script mark: { server: lab, contains: pool-back }).',
        }),
      ),
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
  Type.Object(
    {
      count: JournalMatchSchema,
      min: Type.Optional(Type.Integer({ minimum: 0 })),
      max: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    {
      additionalProperties: false,
      description:
        'How many such events there are: at least min, at most max (e.g. re-REGISTERs over a day).',
    },
  ),
])

export const ExpectSchema = Type.Object(
  {
    endState: Type.Optional(
      StringEnum(END_STATES, { description: 'Where an emulated phone must end up, e.g. signed-in.' }),
    ),
    status: Type.Optional(
      Type.Array(Type.String(), { description: 'Status lines the phone must show, in order.' }),
    ),
    loops: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'The living phone loops at least this many times: a sign-in that ends in the certificate loop (F10) or a crash and reboot after provisioning (F16).',
      }),
    ),
    firmware: Type.Optional(
      Type.String({ description: 'The firmware the phone runs at the end (after any upgrade).' }),
    ),
    journal: Type.Array(JournalRuleSchema, {
      default: [],
      description:
        'What the lab must see while the emulated phone runs, across protocols, e.g. { order: [{ server: dns, contains: _sipinternaltls._tcp }, { server: dns, contains: _sip._tls }] }.',
    }),
  },
  { additionalProperties: false, default: {} },
)

/** How the emulated phone paces its life (phone/life.ts); each a GUESS of spec §10 but dailyS (§5). */
export const PhoneTimingsSchema = Type.Object(
  {
    reRegisterAt: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description: 'Re-REGISTER at this share of Expires (0.5).',
      }),
    ),
    keepAliveS: Type.Optional(Type.Integer({ minimum: 1, description: 'CRLF keep-alive every N s (150).' })),
    ewsPollS: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'EWS poll every N s unless ucExchangeMwiPoll is provisioned (180).',
      }),
    ),
    dailyS: Type.Optional(Type.Integer({ minimum: 60, description: 'The daily cycle (86400, spec §5).' })),
    ntpResyncS: Type.Optional(Type.Integer({ minimum: 60, description: 'NTP resync every N s (3600).' })),
    rebootS: Type.Optional(Type.Integer({ minimum: 0, description: 'A reboot takes N s (60).' })),
    installIdleS: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Idle N s after a download before installing (60).' }),
    ),
    retryS: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Retry a lost pool or a looping sign-in after N s (60).' }),
    ),
  },
  { additionalProperties: false, default: {} },
)

/** A phase of the phone's life after the first: what changes, then how long the phone lives on. */
export const PhonePhaseSchema = Type.Object(
  {
    overlay: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'Any part of a scenario (e.g. { servers: { http: { dus: { approved: 3.5.6907.35 } } } }), merged over this one as `extends` merges, applied to the running lab before the phase.',
      }),
    ),
    command: Type.Optional(StringEnum(['reboot', 'power-cycle', 'hard-reset'] as const)),
    live: DurationSchema,
  },
  { additionalProperties: false },
)

/** The spec's GUESSes the emulator makes (phone/context.ts PhoneGuesses; the CLI's --guess), for one story. */
export const PhoneGuessesSchema = Type.Object(
  {
    option119: Type.Optional(StringEnum(['ascii', 'rfc3397', 'both'] as const)),
    sni: Type.Optional(Type.Boolean()),
    provisioning: Type.Optional(StringEnum(['v2', 'v1'] as const)),
    autodiscover: Type.Optional(
      Type.Array(StringEnum(['https-smtp', 'https-autodiscover', 'http-redirect'] as const), {
        minItems: 1,
      }),
    ),
    ewsUrl: Type.Optional(Type.Array(StringEnum(['EwsUrl', 'ASUrl'] as const), { minItems: 1 })),
    kerberos: Type.Optional(
      StringEnum(['rc4-hmac', 'aes', 'off'] as const, {
        description:
          'The Kerberos encryption types the phone knows: RC4-HMAC alone (default GUESS, Windows CE 6), AES and RC4, or off (NTLM everywhere).',
      }),
    ),
    tlsVersion: Type.Optional(StringEnum(['TLSv1', 'TLSv1.2'] as const)),
    unsetClock: Type.Optional(Type.String({ format: 'date-time' })),
    anchors: Type.Optional(
      StringEnum(['self-signed', 'installed'] as const, {
        description:
          'Which installed CA certificates anchor a chain: the self-signed roots among them (default GUESS, as CryptoAPI treats its root store), or every one installed from AD (issuing CAs of AIA/NTAuth too).',
      }),
    ),
    ldapBind: Type.Optional(
      StringEnum(['spnego', 'simple'] as const, {
        description:
          'How the phone binds to its DC as the user: SASL GSS-SPNEGO with a Kerberos ticket from its TGT (default GUESS, spec §10.11), or a simple bind with the password.',
      }),
    ),
    wins: Type.Optional(
      StringEnum(['then-dns', 'only'] as const, {
        description:
          'With WINS offered (option 44): ask WINS for DOMAIN<1C>, then walk DNS when it does not answer (then-dns), or not (only).',
      }),
    ),
  },
  { additionalProperties: false, default: {} },
)

/** The emulated phone `verify` (and `cx700-lab phone` on a running lab) runs: who, how, and for how long. */
export const PhoneBlockSchema = Type.Object(
  {
    user: Type.Optional(
      Type.String({
        pattern: '^[^@\\s]+@[^@\\s]+$',
        description:
          'Which of the scenario’s users sits at the phone, by sign-in address (default: the first).',
      }),
    ),
    signIn: Type.Optional(
      Type.String({
        pattern: '^[^@\\s]+@[^@\\s]+$',
        description:
          'The sign-in address typed (default: the user’s). Another one — unknown, or someone else’s — tells F15.',
      }),
    ),
    account: Type.String({
      minLength: 1,
      default: 'netbios',
      description:
        'The user name typed: netbios (DOMAIN\\user, the user’s userName), upn (user@AD domain), or the exact text.',
    }),
    password: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'The password typed (default: the user’s). A wrong one tells F15. Never served by the API.',
      }),
    ),
    mac: Type.String({
      pattern: '^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$',
      default: '00:04:f2:00:00:01',
      description: 'The phone’s MAC (Polycom’s OUI 00:04:f2 passes the DHCP allow-list).',
    }),
    guesses: PhoneGuessesSchema,
    firmware: Type.String({
      pattern: '^\\d+(\\.\\d+){1,3}$',
      default: '1.0.522.101',
      description: 'The build the phone runs (its profile: phone/firmware.ts).',
    }),
    usedBefore: Type.Union([Type.Boolean(), Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$' })], {
      default: false,
      description:
        'The phone signed in on this site before (true: as its user; a sign-in address: as that user): it has a stored user, the lab’s root and the pool’s DUS URL.',
    }),
    // Unset: one boot. Set: the phone lives this long in lab time after power-on (verify moves the lab clock
    // on whenever the phone waits, so a day takes seconds).
    live: Type.Optional(DurationSchema),
    maxLoops: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 5,
      description: 'Stop a looping phone after this many loops (the spec’s loops are endless).',
    }),
    timings: PhoneTimingsSchema,
    then: Type.Array(PhonePhaseSchema, {
      default: [],
      description: 'Further phases: a change to the lab and/or a command to the phone, then more life.',
    }),
  },
  { additionalProperties: false, default: {} },
)

/** What a script step does: what the admin API can do to a running lab, and a named checkpoint. */
export const ScriptActionSchema = Type.Object(
  {
    fault: Type.Optional(FaultRuleSchema),
    removeFault: Type.Optional(
      Type.String({ minLength: 1, description: 'The id of a fault rule to take away.' }),
    ),
    overlay: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'Any part of a scenario, merged over this one as `extends` merges, applied to the running lab.',
      }),
    ),
    advanceClock: Type.Optional(DurationSchema),
    stop: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Take one server down (as an overlay setting it enabled: false).',
      }),
    ),
    start: Type.Optional(
      Type.String({ minLength: 1, description: 'Bring one server back (enabled: true).' }),
    ),
    command: Type.Optional(
      Type.Object(
        {
          mac: Type.String({ pattern: '^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$' }),
          command: StringEnum(['reboot', 'power-cycle', 'hard-reset'] as const),
        },
        { additionalProperties: false, description: 'A command left for an emulated phone.' },
      ),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
)

/**
 * One step of a scenario's script (issue 21): armed when the step before it has fired, it fires `at` a lab
 * time since the script started, or `on` a journal event (after the step before), or at once; then waits
 * `after`; then does its actions. Its `name` is a mark in the journal (`lab:script-step`).
 */
export const ScriptStepSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', hint: 'kebab-case, e.g. pool-back' })),
    at: Type.Optional(DurationSchema),
    on: Type.Optional(JournalMatchSchema),
    device: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'With `on`: only an event of this device (a MAC, IP or user).',
      }),
    ),
    after: Type.Optional(DurationSchema),
    do: Type.Optional(ScriptActionSchema),
  },
  { additionalProperties: false },
)

/** A user as a scenario writes it: the site's fields and what each registered server adds (`userFields`). */
const ScenarioUserSchema = Type.Unsafe<Static<typeof UserSchema> & UserFields>(
  Type.Object({ ...UserSchema.properties, ...USER_FIELDS }, { ...UserSchema, additionalProperties: false }),
)

/**
 * What makes a story end where it does (issue 35): the parts of its own file that are its cause. `verify
 * --prove` runs the story without them (the outcome must change) and with every same-ending story's cause in
 * their place (its expect: must fail), so a story tells its cause apart from its neighbours'.
 */
export const CauseSchema = Type.Object(
  {
    is: Type.Array(
      Type.String({ pattern: '^(/[^/]+)+$', hint: 'a JSON pointer, e.g. /servers/dns/remove' }),
      {
        minItems: 1,
        description:
          'JSON pointers into this file naming what causes the story (e.g. /servers/dns/remove, /faults, /users); without them the file is its base.',
      },
    ),
    without: Type.Optional(
      StringEnum(END_STATES, {
        description: 'Where the phone ends without the cause (default signed-in, the healthy end).',
      }),
    ),
    alike: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }), {
        description:
          'Stories whose cause the phone cannot tell from this one’s (the same traffic): with theirs in its place this story’s expect: must still pass.',
      }),
    ),
    guesses: Type.Optional(
      Type.Array(
        Type.Object(
          {
            with: PhoneGuessesSchema,
            ends: StringEnum(END_STATES),
          },
          { additionalProperties: false },
        ),
        {
          description:
            'Where the story’s end rests on a GUESS of the spec: the phone with another guess (e.g. { kerberos: off }) and where it then ends; verify --prove runs it.',
        },
      ),
    ),
  },
  { additionalProperties: false },
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
    users: Type.Array(ScenarioUserSchema, { default: [] }),
    hosts: Type.Optional(Type.Array(HostSchema, { description: 'Derived from the site when absent.' })),
    pki: PkiSchema,
    servers: ServersSchema,
    faults: Type.Array(FaultRuleSchema, { default: [] }),
    phone: PhoneBlockSchema,
    script: Type.Array(ScriptStepSchema, {
      default: [],
      maxItems: 200,
      description:
        'Steps that change the lab as it runs, in order: faults, overlays, the clock, phone commands, marks.',
    }),
    expect: ExpectSchema,
    cause: Type.Optional(CauseSchema),
  },
  {
    additionalProperties: false,
    $id: 'https://cx700-lab.test/scenario.schema.json',
    title: 'cx700-lab scenario',
  },
)

/** A scenario as the schema sees it once defaults are filled in. */
export type ScenarioDocument = Static<typeof ScenarioSchema>
