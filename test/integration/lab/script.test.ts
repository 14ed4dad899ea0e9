import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../../lab/paths.js'
import { manualClock } from '../../../core/clock.js'
import { checkExpectations } from '../../../lab/scenario/expect.js'
import { MINIMAL_SCENARIO, startTestLab } from '../../helpers/lab.js'
import { askUdp, dnsQuery } from '../../helpers/dns-client.js'
import { typeCode } from '../../../servers/dns/codec.js'

const run = promisify(execFile)
const CLI = join(packageRoot(), 'dist', 'cli', 'main.js')

const SCRIPT = `${MINIMAL_SCENARIO}script:
  - name: ntp-down
    at: 1h
    do:
      fault: { id: ntp-down, match: { server: ntp }, fault: { kind: drop } }
  - name: dns-asked
    on: { server: dns, contains: sip.contoso.test }
    after: 5m
    do:
      removeFault: ntp-down
  - name: later
    do:
      advanceClock: 1h
      overlay: { servers: { ntp: { offset: +3y } } }
`

describe('a scenario script on the running lab (lab time, journal triggers, the admin API’s actions)', () => {
  it('fires its steps in order, at lab times and on events, and journals each as a mark', async () => {
    const clock = manualClock(Date.UTC(2026, 10, 29, 8, 0, 0))
    await using t = await startTestLab(SCRIPT, { clock })
    const fired = () => t.lab.journal.query({ kind: 'lab:script-step' }).map((e) => e.summary)
    expect(fired()).toEqual([])
    clock.advance(59 * 60_000)
    expect(fired()).toEqual([])
    clock.advance(60_000)
    expect(fired()).toEqual(['script 1/3 ntp-down: added fault ntp-down'])
    expect(t.lab.faults.list().map((f) => f.id)).toContain('ntp-down')
    // Step 2 is armed now: an event that matches, then five lab minutes.
    await askUdp(t.port('dns'), dnsQuery('sip.contoso.test', typeCode('A')!))
    await new Promise((r) => setImmediate(r))
    expect(fired()).toHaveLength(1)
    clock.advance(5 * 60_000)
    const second = await t.lab.journal.waitFor({
      kind: 'lab:script-step',
      afterSeq: t.lab.journal.query({ kind: 'lab:script-step' })[0]!.seq,
    })
    await t.lab.journal.waitFor({ kind: 'lab:script-step', afterSeq: second.seq })
    expect(fired()[1]).toMatch(/^script 2\/3 dns-asked: removed fault ntp-down \(on #\d+\)$/)
    expect(fired()[2]).toBe('script 3/3 later: clock advanced 1h; overlay applied (servers)')
    expect(t.lab.scenario.servers.ntp.offset).toBe('+3y')
    expect(t.lab.script?.status()).toMatchObject({
      steps: 3,
      fired: [{ name: 'ntp-down' }, { name: 'dns-asked' }, { name: 'later' }],
    })
    const status = (await (await fetch(`${t.admin.url}/script`)).json()) as { script: { fired: unknown[] } }
    expect(status.script.fired).toHaveLength(3)
  })

  it('lets an order rule start from a mark: what happened after it, not before', async () => {
    const clock = manualClock(Date.UTC(2026, 10, 29, 8, 0, 0))
    await using t = await startTestLab(SCRIPT, { clock })
    const ask = () => askUdp(t.port('dns'), dnsQuery('sip.contoso.test', typeCode('A')!))
    await ask() // before the mark
    clock.advance(3_600_000) // ntp-down
    await ask() // after it: arms dns-asked
    await new Promise((r) => setImmediate(r))
    clock.advance(5 * 60_000)
    await t.lab.journal.waitFor({
      kind: 'lab:script-step',
      afterSeq: t.lab.journal.query({ kind: 'lab:script-step' })[0]!.seq,
    })
    const mark = { server: 'lab', kind: 'lab:script-step', contains: 'ntp-down' }
    const dnsAsked = { server: 'dns', contains: 'sip.contoso.test' }
    const events = t.lab.journal.query()
    const check = (rule: Parameters<typeof checkExpectations>[0]['journal'][number]) =>
      checkExpectations({ journal: [rule] }, { endState: 'signed-in', status: [] }, events)
    // From the start, the first query came before the mark; from the mark, a query and then step 2.
    expect(check({ order: [mark, dnsAsked] })).toHaveLength(1)
    expect(check({ from: mark, order: [dnsAsked, { server: 'lab', contains: 'dns-asked' }] })).toEqual([])
  })

  it('holds a fast-forwarding run while a step acts: an overlay takes wall time, never lab time', async () => {
    // CI found it (dc-gone-after-sign-in): a fast-forwarding phone ran half an hour of lab time on while a
    // step's overlay was being applied, so its re-REGISTERs were journaled before the step's mark.
    const start = Date.UTC(2026, 10, 29, 8, 0, 0)
    const clock = manualClock(start)
    await using t = await startTestLab(
      `${MINIMAL_SCENARIO}script:\n  - name: ntp-ahead\n    at: 10m\n    do: { overlay: { servers: { ntp: { offset: +1y } } } }\n  - name: later\n    after: 30m\n    do: { advanceClock: 0s }\n`,
      { clock },
    )
    const phoneWakes: number[] = []
    for (const m of [5, 15, 25, 35, 45]) {
      clock.at(start + m * 60_000, () => phoneWakes.push(m))
      await clock.fastForward(start + m * 60_000)
    }
    const marks = t.lab.journal.query({ kind: 'lab:script-step' })
    expect(marks.map((e) => [e.detail.name, e.time])).toEqual([
      ['ntp-ahead', new Date(start + 10 * 60_000).toISOString()],
      ['later', new Date(start + 40 * 60_000).toISOString()],
    ])
    expect(phoneWakes).toEqual([5, 15, 25, 35, 45])
  })

  it('pauses, resumes, skips and restarts through the admin API and cx700-lab script', async () => {
    const clock = manualClock(Date.UTC(2026, 10, 29, 8, 0, 0))
    await using t = await startTestLab(SCRIPT, { clock })
    const cli = async (...args: string[]): Promise<string> =>
      (await run(process.execPath, [CLI, 'script', ...args, '--admin', t.admin.url])).stdout
    expect(await cli('pause')).toContain('step 1 of 3 waiting (paused)')
    clock.advance(2 * 3_600_000)
    expect(t.lab.journal.query({ kind: 'lab:script-step' })).toEqual([])
    await cli('resume') // step 1's time has passed: it fires now
    expect(t.lab.journal.query({ kind: 'lab:script-step' }).map((e) => e.detail.name)).toEqual(['ntp-down'])
    expect(await cli('skip')).toContain('step 3 of 3 waiting')
    await t.lab.journal.waitFor({
      kind: 'lab:script-step',
      afterSeq: t.lab.journal.query({ kind: 'lab:script-step' })[0]!.seq,
    })
    expect(t.lab.journal.query({ kind: 'lab:script' }).map((e) => e.summary)).toEqual([
      'script paused',
      'script resumed',
      'script skipped step 2 dns-asked',
    ])
    expect(await cli('status')).toMatch(/1\s+ntp-down[\s\S]*3\s+later[\s\S]*done/)
    expect((await cli('restart')).toString()).toContain('step 1 of 3 waiting')
  })

  it('stops and starts one server, and fires on one device’s event only', async () => {
    const clock = manualClock(Date.UTC(2026, 10, 29, 8, 0, 0))
    await using t = await startTestLab(
      `${MINIMAL_SCENARIO}script:\n  - name: ntp-off\n    on: { server: dns }\n    device: 127.0.0.1\n    do: { stop: ntp }\n  - name: ntp-on\n    after: 1h\n    do: { start: ntp }\n`,
      { clock },
    )
    await askUdp(t.port('dns'), dnsQuery('sip.contoso.test', typeCode('A')!))
    const off = await t.lab.journal.waitFor({ kind: 'lab:script-step' })
    expect(off.summary).toContain('ntp stopped')
    expect(t.lab.endpoints().some((e) => e.server === 'ntp')).toBe(false)
    clock.advance(3_600_000)
    const on = await t.lab.journal.waitFor({ kind: 'lab:script-step', afterSeq: off.seq })
    expect(on.summary).toContain('ntp started')
    expect(t.lab.endpoints().some((e) => e.server === 'ntp')).toBe(true)
  })

  it('refuses a script that names a server that does not exist, at its line', async () => {
    const { loadScenario } = await import('../../../lab/scenario/load.js')
    expect(() => loadScenario('s.yaml', `${MINIMAL_SCENARIO}script:\n  - do: { stop: dnss }\n`)).toThrow(
      /s\.yaml:\d+:\d+ +\/script\/0\/do\/stop +unknown server "dnss"/,
    )
  })
})
