import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { verifyDevice } from '../../../cli/verify.js'
import { goldenOf } from '../../../lab/admin/golden.js'
import { deviceEvents } from '../../../lab/admin/timeline.js'
import { packageRoot } from '../../../lab/paths.js'
import { loadScenario } from '../../../lab/scenario/load.js'
import { runPhone } from '../../../phone/emulator.js'
import { PhoneNet } from '../../../phone/net.js'
import { PhoneState } from '../../../phone/state.js'
import { startTestLab } from '../../helpers/lab.js'
import { scenarioPhone } from '../../helpers/phone.js'

const run = promisify(execFile)
const scenarios = join(packageRoot(), 'scenarios')
const CLI = join(packageRoot(), 'dist', 'cli', 'main.js')
const MAC = '00:04:f2:aa:bb:01'

/** verify with the CLI; its exit code and table. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'verify', ...args], { timeout: 30_000 })
    return { code: 0, out: stdout }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? -1, out: (e.stdout ?? '') + (e.stderr ?? '') }
  }
}

/**
 * A phone the lab did not drive (here the emulator, standing in for a hardware CX700: verify sees it only
 * through the journal) is judged against a story: from the running lab, and offline from journal.jsonl.
 */
describe('verify --device: a phone judged from what the servers saw', () => {
  it('passes the story its boot told, fails another with the first divergence, offline and live', async () => {
    await using t = await startTestLab(undefined, { file: join(scenarios, 'f6-clock-skew.yaml') })
    const u = t.lab.scenario.users[0]!
    const report = await runPhone({
      net: new PhoneNet(t.lab.endpoints(), t.lab.siteAddresses()),
      mac: MAC,
      signIn: u.signInAddress,
      account: u.userName,
      password: u.password,
      state: new PhoneState('1.0.522.101'),
      clock: t.lab.clock,
    })
    expect(report.endState).toBe('kerberos-skew')
    t.lab.journal.flush()
    const journal = join(t.lab.runDir, 'journal.jsonl')

    const own = await cli([join(scenarios, 'f6-clock-skew.yaml'), '--device', MAC, '--journal', journal])
    expect(own.code, own.out).toBe(0)
    expect(own.out).toMatch(/f6-clock-skew\s+pass\s+kerberos-skew/)
    const other = await cli([join(scenarios, 'default.yaml'), '--device', MAC, '--journal', journal])
    expect(other.code).toBe(1)
    expect(other.out).toContain('end state: expected signed-in, got kerberos-skew')
    const live = await cli([join(scenarios, 'f6-clock-skew.yaml'), '--device', MAC, '--lab', t.admin.url])
    expect(live.code, live.out).toBe(0)
    expect(
      (await cli([join(scenarios, 'default.yaml'), '--device', '00:04:f2:00:00:99', '--journal', journal]))
        .out,
    ).toContain('no event of device 00:04:f2:00:00:99')
  })

  it('infers the status lines the phone showed, and checks them with the journal rules', async () => {
    await using t = await startTestLab(undefined, { file: join(scenarios, 'default.yaml') })
    const u = t.lab.scenario.users[0]!
    await runPhone({
      net: new PhoneNet(t.lab.endpoints(), t.lab.siteAddresses()),
      mac: MAC,
      signIn: u.signInAddress,
      account: u.userName,
      password: u.password,
      state: new PhoneState('3.5.6907.35'),
      clock: t.lab.clock,
    })
    t.lab.journal.flush()
    const result = await verifyDevice(
      loadScenario(join(scenarios, 'default.yaml')),
      MAC,
      t.lab.journal.query(),
    )
    expect(result?.divergences).toEqual([])
    expect(result?.report.status).toEqual([
      'Locating Domain Controller',
      'Downloading Certificate',
      'Installing Certificate',
      'Connecting to Office Communications Server',
    ])
  })

  it('says what a used phone skips, and when to hard-reset, when its boot fails a first boot’s story', async () => {
    await using t = await startTestLab(undefined, { file: join(scenarios, 'default.yaml') })
    await runPhone(scenarioPhone(t, MAC))
    const secondBoot = (t.lab.journal.query().at(-1)?.seq ?? 0) + 1
    await runPhone(scenarioPhone(t, MAC))
    t.lab.journal.flush()
    const events = t.lab.journal.query()
    const story = loadScenario(join(scenarios, 'default.yaml'))
    // The last boot is a first boot: the emulator fetches the root from AD.
    const kindOf = (evs: typeof events) => goldenOf(deviceEvents(evs, MAC)!.timeline).boot?.kind
    expect(kindOf(events)).toBe('first')
    // A boot that fails another story gets no such hint: it did the trust bootstrap.
    const other = await verifyDevice(loadScenario(join(scenarios, 'f6-clock-skew.yaml')), MAC, events)
    expect(other?.passed).toBe(false)
    expect(other?.hint).toBeUndefined()
    // A hardware phone that had signed in before boots as the QA engineer recorded it (issue 36, finding 3):
    // no search for the CA objects and no /certsrv, straight on to the pool. Here its second boot is made so;
    // the first boot's bootstrap, earlier in the journal, does not hide it.
    const used = events.filter(
      (e) =>
        e.seq < secondBoot ||
        !(
          (e.server === 'ldap' && e.summary.includes('certificationAuthority')) ||
          (e.server === 'http' && e.summary.includes('/certsrv'))
        ),
    )
    expect(kindOf(used)).toBe('used')
    // Judged as --next-boot judges: that boot's events alone.
    const result = await verifyDevice(
      story,
      MAC,
      used.filter((e) => e.seq >= secondBoot),
    )
    expect(result?.passed).toBe(false)
    expect(result?.divergences[0]?.got).toContain('never happened')
    expect(result?.hint).toContain('skipped the trust bootstrap')
    expect(result?.hint).toContain('hard-reset')
  })

  it('--next-boot waits on the running lab for the phone to boot, then judges that boot', async () => {
    await using t = await startTestLab(undefined, { file: join(scenarios, 'default.yaml') })
    const child = spawn(
      process.execPath,
      [
        CLI,
        'verify',
        join(scenarios, 'default.yaml'),
        '--device',
        MAC,
        '--lab',
        t.admin.url,
        '--next-boot',
      ].concat(['--settle', '1s', '--timeout', '60s']),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    try {
      // It follows the journal before the phone is powered on.
      await new Promise<void>((resolve) =>
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString()
          if (err.includes('waiting for')) resolve()
        }),
      )
      await runPhone(scenarioPhone(t, MAC))
      expect(await exited, `${out}${err}`).toBe(0)
      expect(out).toMatch(/default\s+pass\s+signed-in/)
      expect(err).toContain(`${MAC} is booting`)
    } finally {
      child.kill()
    }
  })
})
