import { Type, type Static } from '@sinclair/typebox'
import type { LabClock } from '../../core/clock.js'
import { DurationSchema } from '../../core/schema/common.js'

/** What `GET /clock` answers: where lab time stands and how fast it runs. */
export interface ClockView {
  readonly labTime: string
  readonly wallTime: string
  readonly labMs: number
  readonly wallMs: number
  readonly rate: number
  /** Lab timers planned (registrations, leases, emulated phones' cycles). */
  readonly pending: number
}

export const ClockChangeSchema = Type.Object(
  {
    rate: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1_000_000,
        description: 'Lab seconds per wall second from now on.',
      }),
    ),
    advance: Type.Optional(DurationSchema),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type ClockChangeRequest = Static<typeof ClockChangeSchema>

export function clockView(clock: LabClock): ClockView {
  const { labMs, wallMs, rate } = clock.state()
  return {
    labTime: new Date(labMs).toISOString(),
    wallTime: new Date(wallMs).toISOString(),
    labMs,
    wallMs,
    rate,
    pending: clock.pending,
  }
}
