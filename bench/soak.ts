import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { LabClient } from '../lab/client/index.js'
import type { MemoryHealth } from '../lab/runtime.js'
import { followLabClock } from '../phone/lab-clock.js'
import { LivingPhone, type LifeReport } from '../phone/life.js'
import { PhoneNet } from '../phone/net.js'
import { crowdPhone, crowdScenario, rssMb, startLabProcess } from './process.js'
import { result } from './report.js'

/**
 * A soak: N emulated CX700s sign in to one lab process and live for D lab days on the lab's fast clock —
 * keep-alives, signed re-REGISTERs, EWS polls, daily cycles (update check, Autodiscover, address book), lease
 * renewals, NTP resyncs. Reports the lab's RSS once every phone is signed in and at the end, the journal's
 * size, and failures: registrations that lapsed and lives that did not end signed in (must be 0). The lab's
 * in-memory journal is capped at 100,000 events and 8 MiB (core/journal/journal.ts); the file rotates at
 * 256 MiB. No peer exists for this.
 */

/** Octets of every journal file under the lab's state directory. */
function journalBytes(stateDir: string): number {
  const runs = join(stateDir, 'runs')
  let n = 0
  for (const run of readdirSync(runs))
    for (const f of readdirSync(join(runs, run)))
      if (f.endsWith('.jsonl')) n += statSync(join(runs, run, f)).size
  return n
}

interface SoakOptions {
  phones: number
  days: number
  rate: number
  ewsPollS: number
}

/** What the lab's process looked like while the crowd lived: RSS samples and the admin's memory readings. */
interface Watched {
  reports: LifeReport[]
  seconds: number
  rssStart: number
  rssSignedIn: number
  rssHalfway: number | undefined
  memorySignedIn: MemoryHealth | undefined
}

/**
 * The crowd lives: every phone signs in in real time (a sign-in's network exchanges do not speed up with the
 * clock), then lab time runs fast, in the lab and in the phones' clock at the same moment; RSS is sampled
 * every 5 s from then on, to see whether it levels off.
 */
async function liveCrowd(o: SoakOptions, pid: number, client: LabClient): Promise<Watched> {
  const net = new PhoneNet((await client.endpoints()).endpoints)
  const followed = await followLabClock(client)
  let fast: Promise<unknown> = Promise.resolve()
  const rssStart = rssMb(pid)
  let signedIn = 0
  let rssSignedIn = 0
  let memorySignedIn: Promise<MemoryHealth> | undefined
  const samples: number[] = []
  let sampler: NodeJS.Timeout | undefined
  const t0 = performance.now()
  const onBoot = (r: { endState: string }): void => {
    if (!r.endState.startsWith('signed-in') || ++signedIn !== o.phones) return
    rssSignedIn = rssMb(pid)
    memorySignedIn = client.health().then((h) => h.memory)
    fast = followed.setRate(o.rate)
    sampler = setInterval(() => samples.push(rssMb(pid)), 5_000)
  }
  const lives = Array.from({ length: o.phones }, (_, i) =>
    new LivingPhone({
      ...crowdPhone(net, i + 1),
      clock: followed.clock,
      liveForMs: o.days * 86_400_000,
      timings: { ewsPollS: o.ewsPollS },
      onBoot,
    }).run(),
  )
  const reports = await Promise.all(lives)
  await fast
  clearInterval(sampler)
  followed.stop()
  const seconds = (performance.now() - t0) / 1000
  const rssHalfway = samples[Math.floor(samples.length / 2)]
  return { reports, seconds, rssStart, rssSignedIn, rssHalfway, memorySignedIn: await memorySignedIn }
}

/** Every failed boot step, with its phone (a later boot of the same phone may have succeeded). */
function failedSteps(reports: readonly LifeReport[]): string[] {
  return reports.flatMap((r) =>
    r.boots.flatMap((b, i) =>
      b.steps.filter((s) => !s.ok).map((f) => `${r.mac} boot ${i + 1} failed step ${f.step}: ${f.detail}`),
    ),
  )
}

async function printFailures(client: LabClient, failed: string[], notSignedIn: LifeReport[]): Promise<void> {
  if (failed.length > 0)
    console.log(`${failed.length} boot steps failed (a later attempt may have succeeded):`)
  for (const line of failed.slice(0, 20)) console.log(line)
  const lapses = await client.journal({ kind: 'sip:registration-expired', limit: 5 })
  for (const e of lapses) console.log(`${e.time}: ${e.summary}`)
  for (const r of notSignedIn.slice(0, 5))
    console.log(`${r.mac}: ${r.endState}, ${r.boots.length} boots, ${r.reboots} reboots`)
}

/** Where the resident set is: V8's heap (live and reserved), and what the two bounded stores hold. */
function printMemory(signedIn: MemoryHealth | undefined, end: MemoryHealth): void {
  for (const [when, m] of [
    ['signed in', signedIn],
    ['at the end', end],
  ] as const)
    if (m)
      console.log(
        `${when}: heap ${m.heapUsedMb} MB used of ${m.heapTotalMb}, external ${m.externalMb}, journal ${m.journalMb} MB and captures ${m.captureMb} MB in memory`,
      )
}

async function report(
  o: SoakOptions,
  w: Watched,
  pid: number,
  client: LabClient,
  stateDir: string,
): Promise<void> {
  const rssEnd = rssMb(pid)
  const memoryEnd = (await client.health()).memory
  const lapsed = (await client.journal({ kind: 'sip:registration-expired', limit: 100_000 })).length
  const notSignedIn = w.reports.filter((r) => !r.endState.startsWith('signed-in'))
  const failed = failedSteps(w.reports)
  await printFailures(client, failed, notSignedIn)
  const journalMb = journalBytes(stateDir) / 1024 / 1024
  console.log(
    `${o.phones} phones × ${o.days} lab days at ${o.rate}× in ${w.seconds.toFixed(0)} s: RSS ${w.rssStart} MB at start, ${w.rssSignedIn} MB signed in, ${w.rssHalfway ?? '?'} MB halfway, ${rssEnd} MB at the end; journal ${journalMb.toFixed(0)} MB on disk`,
  )
  printMemory(w.memorySignedIn, memoryEnd)
  result('soak', {
    lab: rssEnd,
    peer: undefined,
    ratio: undefined,
    unit: 'rss_mb_end',
    growth: w.rssSignedIn > 0 ? rssEnd / w.rssSignedIn : undefined,
    growth_second_half: w.rssHalfway ? rssEnd / w.rssHalfway : undefined,
    failures: lapsed + notSignedIn.length,
    lapsed,
    failed_steps: failed.length,
    rss_mb_start: w.rssStart,
    rss_mb_signed_in: w.rssSignedIn,
    rss_mb_halfway: w.rssHalfway,
    rss_mb: rssEnd,
    heap_mb_signed_in: w.memorySignedIn?.heapUsedMb,
    heap_mb_end: memoryEnd.heapUsedMb,
    capture_mb: memoryEnd.captureMb,
    journal_mb: journalMb,
    phones: o.phones,
    days: o.days,
    rate: o.rate,
    wall_s: w.seconds,
  })
}

export async function soak(phones = 200, days = 7, rate = 600, ewsPollS = 3_600): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'cx700-bench-soak-'))
  let lab: Awaited<ReturnType<typeof startLabProcess>> | undefined
  try {
    const stateDir = join(base, 'state')
    lab = await startLabProcess(stateDir, [crowdScenario(base, 'bench-soak')])
    const pid = lab.child.pid!
    const client = new LabClient(lab.adminUrl)
    const o = { phones, days, rate, ewsPollS }
    await report(o, await liveCrowd(o, pid, client), pid, client, stateDir)
  } finally {
    if (lab) await lab.stop()
    // BENCH_KEEP_STATE=1 keeps the lab's state (its journal files) to read after the run.
    if (process.env.BENCH_KEEP_STATE === '1') console.log(`the lab's state is kept in ${base}`)
    else rmSync(base, { recursive: true, force: true })
  }
}
