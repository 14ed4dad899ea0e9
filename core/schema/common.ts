import { Type, type Static, type TSchema } from '@sinclair/typebox'

/** Durations as people write them: `250ms`, `90s`, `-5m`, `+3y`, `1h30m`. A year is 365.25 days. */
export const DURATION_PATTERN = '^[+-]?(\\d+(\\.\\d+)?(ms|s|m|h|d|w|y))+$'
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_557_600_000,
}

/** The longest duration a scenario may write: a clock moved further has no date (and no NTP era) to show. */
export const DURATION_MAX_MS = 1000 * 31_557_600_000

export const DurationSchema = Type.String({
  pattern: DURATION_PATTERN,
  format: 'duration',
  hint: 'a duration such as 250ms, 90s, -5m, +3y or 1h30m, of at most 1000 years',
})

/** Milliseconds in a duration that matched DURATION_PATTERN. */
export function parseDuration(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1
  let total = 0
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g))
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0)
  return sign * total
}

export const ListenSchema = Type.Object(
  {
    address: Type.Optional(
      Type.String({ format: 'ipv4', description: 'Bind address; defaults from the network mode.' }),
    ),
    port: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 65535,
        description: 'Bind port; 0 = ephemeral. Defaults from the network mode.',
      }),
    ),
  },
  { additionalProperties: false },
)
export type Listen = Static<typeof ListenSchema>

/** The fields every server block has; a server adds its knobs. */
export function serverBlock<P extends Record<string, TSchema>>(knobs: P, description: string) {
  return Type.Object(
    {
      enabled: Type.Boolean({ default: true }),
      listen: Type.Optional(ListenSchema),
      ...knobs,
    },
    { additionalProperties: false, description },
  )
}

/** A string enum as JSON Schema `enum` (clearer errors than a union of literals). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}

/** Who a rule or a view is for, by address: an IPv4 address or CIDR block (or an IPv6 address). */
export const PeerSchema = Type.String({
  format: 'peer',
  description: 'A peer IPv4 address or CIDR block.',
  hint: 'an IPv4 address or CIDR block such as 10.50.0.0/24',
})

/** Words people write for "nothing" where a name is expected (it would be used as the name itself). */
export function meansNothing(text: string): boolean {
  return /^(none|null|nil|no|off|false|disabled?|empty|-)$/i.test(text.trim())
}

/** The message for an option's value that is a word for nothing. */
export const NOTHING_WORD = (value: string, how: string): string =>
  `"${value}" would be sent as it is written; ${how}`

/** How long a message begun on a connection may take to end (AD's InitRecvTimeout: 120 s). */
export const MessageTimeoutSchema = Type.Integer({
  minimum: 100,
  maximum: 3_600_000,
  default: 120_000,
  description:
    'A message begun must end within this (AD’s InitRecvTimeout, 120 s); the first one too, counted from the connection.',
})
