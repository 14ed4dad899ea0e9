import { DurationSchema, parseDuration } from '../core/schema/common.js'
import type { LabClient } from '../lab/client/index.js'
import { followLabClock } from '../phone/lab-clock.js'
import { DEFAULT_TIMINGS, LivingPhone, type LifeReport, type LifeTimings } from '../phone/life.js'
import type { PhoneOptions, PhoneReport } from '../phone/context.js'
import { macPlus, usage } from './args.js'
import { schemaProblems } from '../core/schema/problems.js'

/** `--timing key=value` pairs → the living phone's intervals; throws a usage error naming the bad one. */
export function parseTimings(pairs: readonly string[]): Partial<LifeTimings> {
  const out: Record<string, number> = {}
  for (const pair of pairs) {
    const [k = '', v = ''] = pair.split('=')
    if (!(k in DEFAULT_TIMINGS))
      throw usage(
        `--timing ${k} is not an interval the phone has (${Object.keys(DEFAULT_TIMINGS).join(', ')}).`,
      )
    const n = Number(v)
    if (v === '' || !Number.isFinite(n) || n < 0) throw usage(`--timing ${k} takes a number, not "${v}".`)
    out[k] = n
  }
  return out
}

function printBoot(r: PhoneReport): void {
  process.stdout.write(`CX700 ${r.mac} boot → ${r.endState}\n`)
  for (const line of r.status) process.stdout.write(`  [screen] ${line}\n`)
  for (const s of r.steps)
    process.stdout.write(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.step.padEnd(22)} ${s.detail} (${s.ms} ms)\n`)
}

/** Runs `count` living phones against the running lab until their time is up or Ctrl-C; exit 0 if none failed. */
export async function livePhones(
  lab: LabClient,
  live: string,
  o: {
    readonly count: number
    readonly firstMac: string
    readonly maxLoops: number | undefined
    readonly timings: Partial<LifeTimings>
    readonly json: boolean
    readonly phone: (mac: string) => PhoneOptions
  },
): Promise<number> {
  const forever = live === 'forever'
  if (!forever && (schemaProblems(DurationSchema, live).length > 0 || parseDuration(live) <= 0))
    throw usage(`--live takes a lab duration such as 24h or 7d, or "forever", not "${live}".`)
  const followed = await followLabClock(lab)
  const { clock } = followed
  const phones = Array.from({ length: o.count }, (_, i) => {
    const mac = macPlus(o.firstMac, i)
    return new LivingPhone({
      ...o.phone(mac),
      clock,
      timings: o.timings,
      ...(forever ? {} : { liveForMs: parseDuration(live) }),
      ...(o.maxLoops !== undefined ? { maxLoops: o.maxLoops } : {}),
      commands: () => lab.phoneCommands(mac),
      onBoot: (r) => {
        if (!o.json) printBoot(r)
      },
    })
  })
  const onSignal = (): void => {
    for (const p of phones) p.stop()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let reports: LifeReport[]
  try {
    reports = await Promise.all(phones.map((p) => p.run()))
  } finally {
    followed.stop()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (o.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`)
  else
    for (const r of reports)
      process.stdout.write(
        `CX700 ${r.mac}: ${r.boots.length} boot(s), ${r.reboots} reboot(s), ${r.loops} loop(s), firmware ${r.firmware}, last ${r.endState} (${r.stopped})\n`,
      )
  return reports.every((r) => r.endState.startsWith('signed-in')) ? 0 : 1
}
