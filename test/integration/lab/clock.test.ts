import { describe, expect, it } from 'vitest'
import { AdminRequestError } from '../../../lab/client/index.js'
import { unixMsFromNtpTimestamp } from '../../../servers/ntp/codec.js'
import { MINIMAL_SCENARIO, startTestLab } from '../../helpers/lab.js'
import { ntpClient } from '../../helpers/ntp-client.js'

const DAY = 86_400_000

describe('the lab clock through the admin API', () => {
  it('moves on at once: NTP answers and the journal follow it, and the journal keeps wall time beside', async () => {
    await using t = await startTestLab()
    await using ntp = await ntpClient(t.port('ntp'))
    const before = unixMsFromNtpTimestamp((await ntp.ask()).transmitTimestamp, Date.now())
    const wall0 = Date.now()
    const view = await t.client.changeClock({ advance: '24h' })
    expect(view.labMs - view.wallMs).toBeGreaterThan(DAY - 60_000)
    const after = unixMsFromNtpTimestamp((await ntp.ask()).transmitTimestamp, Date.now())
    expect(after - before).toBeGreaterThan(DAY - 60_000)
    expect(after - before).toBeLessThan(DAY + (Date.now() - wall0) + 60_000)

    const [change] = await t.client.journal({ kind: 'lab:clock' })
    expect(change).toMatchObject({ detail: { kind: 'advance', byMs: DAY } })
    expect(change?.summary).toContain('advanced by 1d')
    const answered = (await t.client.journal({ kind: 'ntp:response' })).at(-1)
    expect(answered?.wall).toBeDefined()
    expect(Date.parse(answered!.time) - Date.parse(answered!.wall!)).toBeGreaterThan(DAY - 60_000)
  })

  it('runs fast at the rate asked, and a scenario names its own rate', async () => {
    await using t = await startTestLab(`${MINIMAL_SCENARIO}clock:\n  rate: 3600\n`)
    const a = await t.client.clock()
    expect(a.rate).toBe(3600)
    await expect.poll(async () => (await t.client.clock()).labMs - a.labMs).toBeGreaterThan(3_600_000)
    const stopped = await t.client.changeClock({ rate: 0 })
    expect(stopped.rate).toBe(0)
    expect((await t.client.clock()).labMs).toBe(stopped.labMs)
  })

  it('refuses to go back in time or to run backwards, naming why', async () => {
    await using t = await startTestLab()
    await expect(t.client.changeClock({ advance: '-1h' })).rejects.toThrow(/only moves forward/)
    const err = await t.client.changeClock({ rate: -3 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AdminRequestError)
    expect((err as AdminRequestError).problems.length).toBeGreaterThan(0)
  })
})
