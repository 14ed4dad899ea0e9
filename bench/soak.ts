import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { LabClient } from '../lab/client/index.js'
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

export async function soak(phones = 200, days = 7, rate = 600, ewsPollS = 3_600): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'cx700-bench-soak-'))
  let lab: Awaited<ReturnType<typeof startLabProcess>> | undefined
  try {
    const file = crowdScenario(base, 'bench-soak')
    const stateDir = join(base, 'state')
    lab = await startLabProcess(stateDir, [file])
    const pid = lab.child.pid!
    const client = new LabClient(lab.adminUrl)
    const net = new PhoneNet((await client.endpoints()).endpoints)
    // The phones sign in in real time (a sign-in's network exchanges do not speed up with the clock), then
    // lab time runs fast: in the lab and in the phones' clock at the same moment.
    const followed = await followLabClock(client)
    const { clock } = followed
    let fast: Promise<unknown> = Promise.resolve()
    const rssStart = rssMb(pid)
    let signedIn = 0
    let rssSignedIn = 0
    const t0 = performance.now()
    const lives: Promise<LifeReport>[] = []
    for (let i = 0; i < phones; i++)
      lives.push(
        new LivingPhone({
          ...crowdPhone(net, i + 1),
          clock,
          liveForMs: days * 86_400_000,
          timings: { ewsPollS },
          onBoot: (r) => {
            if (!r.endState.startsWith('signed-in') || ++signedIn !== phones) return
            rssSignedIn = rssMb(pid)
            fast = followed.setRate(rate)
          },
        }).run(),
      )
    const reports = await Promise.all(lives)
    await fast
    followed.stop()
    const seconds = (performance.now() - t0) / 1000
    const rssEnd = rssMb(pid)
    const lapsed = (await client.journal({ kind: 'sip:registration-expired', limit: 100_000 })).length
    const notSignedIn = reports.filter((r) => !r.endState.startsWith('signed-in'))
    const failed = reports.flatMap((r) => r.boots.flatMap((b) => b.steps.filter((s) => !s.ok)))
    for (const f of failed.slice(0, 5)) console.log(`failed step ${f.step}: ${f.detail}`)
    const lapses = await client.journal({ kind: 'sip:registration-expired', limit: 5 })
    for (const e of lapses) console.log(`${e.time}: ${e.summary}`)
    for (const r of notSignedIn.slice(0, 5))
      console.log(`${r.mac}: ${r.endState}, ${r.boots.length} boots, ${r.reboots} reboots`)
    const journalMb = journalBytes(stateDir) / 1024 / 1024
    console.log(
      `${phones} phones × ${days} lab days at ${rate}× in ${seconds.toFixed(0)} s: RSS ${rssStart} MB at start, ${rssSignedIn} MB signed in, ${rssEnd} MB at the end; journal ${journalMb.toFixed(0)} MB on disk`,
    )
    result('soak', {
      lab: rssEnd,
      peer: undefined,
      ratio: undefined,
      unit: 'rss_mb_end',
      growth: rssSignedIn > 0 ? rssEnd / rssSignedIn : undefined,
      failures: lapsed + notSignedIn.length,
      lapsed,
      rss_mb_start: rssStart,
      rss_mb_signed_in: rssSignedIn,
      rss_mb: rssEnd,
      journal_mb: journalMb,
      phones,
      days,
      rate,
      wall_s: seconds,
    })
  } finally {
    if (lab) await lab.stop()
    rmSync(base, { recursive: true, force: true })
  }
}
