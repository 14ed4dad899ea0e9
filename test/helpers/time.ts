const DAY = 86_400_000

/**
 * A lab time at a time of day on today's date (UTC), for a test whose lab clock must stand at an hour (the
 * address book's 01:30 pass, a daily cycle) without pinning a calendar date that rots: the lab's certificates
 * are made at the host's time, and a date written into a test drifts away from it day by day.
 */
export function todayAt(hhmm: `${number}:${number}`): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number]
  return Math.floor(Date.now() / DAY) * DAY + (h * 60 + m) * 60_000
}

/** The ISO form a journal event's `time` takes for a lab time `ms` after `start`. */
export function isoAfter(start: number, ms: number): string {
  return new Date(start + ms).toISOString()
}
