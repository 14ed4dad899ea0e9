import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { manualClock } from '../../../core/clock.js'
import { packageRoot } from '../../../lab/paths.js'
import { startTestLab, type TestLab } from '../../helpers/lab.js'
import { LivingPhone } from '../../../phone/life.js'
import { alicePhone } from '../../helpers/phone.js'
import { PhoneState } from '../../../phone/state.js'
import { todayAt } from '../../helpers/time.js'

/*
 * The phone over time, on the lab clock moved on by the phone itself (fast-forward): a lab day in seconds.
 */
const START = todayAt('08:00')
const clock = manualClock(START)
let t: TestLab
beforeAll(async () => {
  t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml'), clock })
})
afterAll(async () => {
  await t[Symbol.asyncDispose]()
})

const phone = (mac: string, state: PhoneState, liveForMs: number): LivingPhone =>
  new LivingPhone({
    ...alicePhone(t, mac),
    state,
    timeoutMs: 2_000,
    clock,
    fastForward: true,
    liveForMs,
  })

describe('a living phone', () => {
  it('stays registered for a lab day and a bit: keep-alives, re-REGISTERs before Expires, one daily cycle, no expiry', async () => {
    const since = t.lab.journal.lastSeq
    const life = await phone('00:04:f2:00:02:01', new PhoneState('3.5.6907.35'), 25 * 3_600_000).run()
    expect(life.stopped).toBe('time')
    expect(life.endState).toBe('signed-in')
    expect(life.boots).toHaveLength(1)
    const steps = life.boots[0]!.steps
    const count = (step: string): number => steps.filter((s) => s.step === step && s.ok).length
    // 900 s granted, refreshed halfway: 25 h / 450 s.
    expect(count('re-register')).toBeGreaterThanOrEqual(199)
    expect(count('keep-alive')).toBe(0) // only failures are steps
    expect(count('address-book')).toBe(2)
    expect(count('update (daily)')).toBe(1)
    expect(count('ntp-resync')).toBeGreaterThanOrEqual(23)
    expect(count('dhcp-renew')).toBeGreaterThanOrEqual(1)
    const events = t.lab.journal.query({}).filter((e) => e.seq > since)
    expect(events.filter((e) => e.kind === 'sip:registration-expired')).toHaveLength(0)
    expect(clock.now() - START).toBeGreaterThanOrEqual(25 * 3_600_000)
  }, 60_000)
})

describe('a living phone’s lease', () => {
  it('renews at T1; when the server stops answering it rebinds at T2, then loses the address at the end and reboots', async () => {
    await using lab = await startTestLab(
      `version: 1
name: short-lease
extends: ${JSON.stringify(join(packageRoot(), 'scenarios', 'default.yaml'))}
servers:
  dhcp: { leaseTime: 2h }
`,
      { clock },
    )
    const mac = '00:04:f2:00:02:02'
    // The sign-in's DISCOVER and REQUEST, the renewal at T1 (1 h) answered; everything after that dropped.
    await lab.client.addFault({ match: { server: 'dhcp', device: mac }, fault: { kind: 'drop' }, after: 3 })
    const life = await new LivingPhone({
      ...alicePhone(lab, mac, '3.5.6907.35'),
      timeoutMs: 500,
      clock,
      fastForward: true,
      liveForMs: 4 * 3_600_000,
      // Without an address the phone tries DHCP again every 30 min (each try a wall second of timeouts here).
      timings: { ewsPollS: 3_600, retryS: 1_800 },
    }).run()
    const steps = life.boots[0]!.steps.filter(
      (s) => s.step.startsWith('dhcp-') || s.detail.includes('ran out'),
    )
    expect(steps.map((s) => `${s.step} ${s.ok}`)).toEqual([
      'dhcp-renew true', // T1 = 1 h
      'dhcp-renew false', // T1 of the renewed lease: dropped
      'dhcp-rebind false', // T2 = 7/8 of 2 h after the last ACK
      'dhcp false', // the lease ran out
    ])
    expect(life.reboots).toBeGreaterThanOrEqual(1)
    expect(life.boots.length).toBeGreaterThanOrEqual(2)
  }, 60_000)
})
