import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import {
  bootKindOf,
  diffGolden,
  goldenDiffers,
  goldenOf,
  oneTimeAsk,
  type GoldenTimeline,
} from '../../../lab/admin/golden.js'
import { deviceEvents } from '../../../lab/admin/timeline.js'
import { packageRoot } from '../../../lab/paths.js'
import { runPhone } from '../../../phone/emulator.js'
import { PhoneNet } from '../../../phone/net.js'
import { PhoneState } from '../../../phone/state.js'
import { startTestLab, type TestLab } from '../../helpers/lab.js'

const run = promisify(execFile)
const CLI = join(packageRoot(), 'dist', 'cli', 'main.js')
const scenarios = join(packageRoot(), 'scenarios')
const dir = mkdtempSync(join(tmpdir(), 'cx700-golden-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** One factory-fresh boot of the emulated phone (standing in for a hardware one) on a lab. */
async function boot(t: TestLab, mac: string): Promise<void> {
  const u = t.lab.scenario.users[0]!
  await runPhone({
    net: new PhoneNet(t.lab.endpoints(), t.lab.siteAddresses()),
    mac,
    signIn: u.signInAddress,
    account: u.userName,
    password: u.password,
    state: new PhoneState('3.5.6907.35'),
    clock: t.lab.clock,
  })
  t.lab.journal.flush()
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'timeline', ...args], { timeout: 30_000 })
    return { code: 0, out: stdout }
  } catch (err) {
    const e = err as { code?: number; stdout?: string }
    return { code: e.code ?? -1, out: e.stdout ?? '' }
  }
}

describe('golden timelines: a boot kept as a file, and two boots compared', () => {
  it('finds two boots of one story the same, and names where a boot of another story departs', async () => {
    await using healthy = await startTestLab(undefined, { file: join(scenarios, 'default.yaml') })
    await boot(healthy, '00:04:f2:00:00:0a')
    await boot(healthy, '00:04:f2:00:00:0b')
    const journal = join(healthy.lab.runDir, 'journal.jsonl')
    const a = join(dir, 'a.json')
    const b = join(dir, 'b.json')
    expect((await cli(['export', '--device', '00:04:f2:00:00:0a', '--journal', journal, '-o', a])).code).toBe(
      0,
    )
    expect((await cli(['export', '--device', '00:04:f2:00:00:0b', '--journal', journal, '-o', b])).code).toBe(
      0,
    )
    // The same boot as a ladder diagram (SVG), whole and one stage of it.
    const ladder = await cli(['ladder', '--device', '00:04:f2:00:00:0a', '--journal', journal])
    expect(ladder.code).toBe(0)
    expect(ladder.out).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="ladder"/)
    expect(ladder.out).toContain('>sip</text>')
    const sipOnly = await cli([
      'ladder',
      '--device',
      '00:04:f2:00:00:0a',
      '--journal',
      journal,
      '--stage',
      'SIP',
    ])
    expect(sipOnly.out.match(/data-stage="SIP"/g)?.length).toBeGreaterThan(1)
    expect(sipOnly.out).not.toContain('data-stage="DNS"')
    const same = await cli(['diff', a, b, '--tolerance', '5s'])
    expect(same.code, same.out).toBe(0)
    expect(same.out).toContain('the same things, in the same order')

    await using skewed = await startTestLab(undefined, { file: join(scenarios, 'f6-clock-skew.yaml') })
    await boot(skewed, '00:04:f2:00:00:0c')
    const found = deviceEvents(skewed.lab.journal.query(), '00:04:f2:00:00:0c')!
    const c = goldenOf(found.timeline)
    const diffs = diffGolden(
      JSON.parse(
        (await cli(['export', '--device', '00:04:f2:00:00:0a', '--journal', journal])).out,
      ) as GoldenTimeline,
      c,
      5_000,
    )
    // The skewed phone never reaches the pool: its SIP requests are missing, and it asks no trust search.
    expect(diffs).toContainEqual(
      expect.objectContaining({ stage: 'SIP', what: 'missing', detail: expect.stringMatching(/^REGISTER/) }),
    )
    expect(diffs).toContainEqual(
      expect.objectContaining({
        stage: 'DC/LDAP',
        what: 'missing',
        detail: expect.stringContaining('certificationAuthority'),
      }),
    )
    expect(diffs.some((d) => d.what === 'extra')).toBe(false)
    // Two labs, three boots and five CLI processes: 9–16 s on a quiet CI machine, over 20 s on a loaded one.
  }, 60_000)

  it('tells an order change and a slow request apart from a missing one', () => {
    const g = (stages: Record<string, { ask: string; atMs: number }[]>) => ({
      version: 1 as const,
      device: 'x',
      stages,
    })
    const a = g({
      DNS: [
        { ask: 'a A', atMs: 0 },
        { ask: 'b A', atMs: 10 },
      ],
    })
    expect(
      diffGolden(
        a,
        g({
          DNS: [
            { ask: 'b A', atMs: 10 },
            { ask: 'a A', atMs: 20 },
          ],
        }),
        100,
      ),
    ).toEqual([{ stage: 'DNS', what: 'order', detail: 'A: a A → b A; B: b A → a A' }])
    expect(
      diffGolden(
        a,
        g({
          DNS: [
            { ask: 'a A', atMs: 0 },
            { ask: 'b A', atMs: 5_000 },
          ],
        }),
        2_000,
      ),
    ).toEqual([{ stage: 'DNS', what: 'timing', detail: 'b A: 10 ms in A, 5000 ms in B' }])
  })

  it('records the kind of boot, and compares a first boot with a used one by what both do', async () => {
    await using t = await startTestLab(undefined, { file: join(scenarios, 'default.yaml') })
    await boot(t, '00:04:f2:00:00:1a')
    const first = goldenOf(deviceEvents(t.lab.journal.query(), '00:04:f2:00:00:1a')!.timeline)
    // The firmware is what the phone told the Device Update Service it runs.
    expect(first.boot).toEqual({ kind: 'first', firmwareDownload: false, firmware: '3.5.6907.35' })
    // A used phone (issue 36, finding 4) boots as a hardware phone that signed in before was recorded: without
    // the trust bootstrap, the one-time steps.
    const stages = Object.fromEntries(
      Object.entries(first.stages).map(([stage, rs]) => [stage, rs.filter((r) => !oneTimeAsk(r.ask))]),
    )
    const used: GoldenTimeline = { ...first, boot: bootKindOf(stages), stages }
    expect(used.boot).toEqual({ kind: 'used', firmwareDownload: false })
    const diffs = diffGolden(first, used, 5_000)
    expect(diffs.length).toBeGreaterThan(0)
    expect(diffs.every((d) => d.what === 'one-time')).toBe(true)
    expect(diffs).toContainEqual(
      expect.objectContaining({
        stage: 'DC/LDAP',
        what: 'one-time',
        detail: expect.stringMatching(
          /certificationAuthority.*only A \(a first boot on 3\.5\.6907\.35; B is a used phone’s boot\)/,
        ),
      }),
    )
    expect(goldenDiffers(diffs)).toBe(false)
    // The image's signature catalog comes with the image, once (§6.3).
    expect(oneTimeAsk('GET /DeviceUpdateFiles_Int/UCPhone/Polycom/CX700/A/ENU/3.5.6907.35/CPE/CPE.cat')).toBe(
      true,
    )
    // A used phone's power-on update check goes to the URL it was provisioned with (the pool's name), a first
    // boot's to ucupdates-r2: the lookups before the time lookup differ once, as the kinds do.
    const pooled: GoldenTimeline = {
      ...used,
      stages: {
        ...used.stages,
        DNS: [{ ask: 'ocspool.contoso.test A', atMs: 0 }, ...(used.stages.DNS ?? [])],
      },
    }
    const powerOn = diffGolden(first, pooled, 5_000)
    expect(goldenDiffers(powerOn)).toBe(false)
    expect(powerOn).toContainEqual({
      stage: 'DNS',
      what: 'one-time',
      detail:
        "the power-on update check's lookups: A ucupdates-r2.corp.contoso.test A (a first boot on 3.5.6907.35); B ocspool.contoso.test A (a used phone’s boot)",
    })
    const a = join(dir, 'first.json')
    const b = join(dir, 'used.json')
    writeFileSync(a, JSON.stringify(first))
    writeFileSync(b, JSON.stringify(used))
    const agreed = await cli(['diff', a, b, '--tolerance', '5s'])
    expect(agreed.code, agreed.out).toBe(0)
    expect(agreed.out).toContain('differ only in the one-time steps of their kinds')
    // A used boot on other firmware than the last one is a boot after an upgrade: named, not a failure.
    const before: GoldenTimeline = { ...used, boot: { ...used.boot!, firmware: '3.5.6907.35' } }
    const after: GoldenTimeline = { ...used, boot: { ...used.boot!, firmware: '3.5.6907.99' } }
    const upgrade = diffGolden(before, after, 5_000)
    expect(upgrade).toEqual([
      {
        stage: 'DUS',
        what: 'one-time',
        detail: 'A ran 3.5.6907.35, B runs 3.5.6907.99: B boots after a firmware change',
      },
    ])
    expect(goldenDiffers(upgrade)).toBe(false)
    // Two boots of one kind are held to everything: a first boot without the CA search differs.
    const stripped = join(dir, 'first-without-search.json')
    writeFileSync(stripped, JSON.stringify({ ...used, boot: first.boot }))
    const missing = await cli(['diff', a, stripped, '--tolerance', '5s'])
    expect(missing.code).toBe(1)
    expect(missing.out).toMatch(/DC\/LDAP\s+missing\s+search .*certificationAuthority/)
  })
})
