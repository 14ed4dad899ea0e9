import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { scenarioPhone as storyPhone } from '../../../cli/scenario-phone.js'
import { packageRoot } from '../../../lab/paths.js'
import { loadScenario } from '../../../lab/scenario/load.js'
import { runPhone } from '../../../phone/emulator.js'
import { startTestLab } from '../../helpers/lab.js'
import { scenarioPhone } from '../../helpers/phone.js'

const STORIES = join(packageRoot(), 'scenarios')
const ANN = '00:04:f2:00:7d:01'
const BEN = '00:04:f2:00:7d:02'

/** Every catalogue story whose phone boots once, factory-fresh (one living through phases is another test's). */
function stories() {
  return readdirSync(STORIES)
    .filter((f) => f.endsWith('.yaml') && f !== 'default.yaml')
    .map((f) => loadScenario(join(STORIES, f)))
    .filter((s) => !s.phone.usedBefore && s.phone.live === undefined && s.phone.then.length === 0)
}

describe('device views: one phone meets a story while the lab runs its scenario for the others (issue 38)', () => {
  it('confines every story it can to one phone: that phone ends where the story says, its neighbour signs in', async () => {
    await using t = await startTestLab(undefined, { file: join(STORIES, 'default.yaml') })
    const confinable = stories().filter((s) => {
      const plan = t.lab.devicePlan(s)
      return plan.labWide.length === 0 && (plan.servers.length > 0 || plan.faults.length > 0)
    })
    // DNS, NTP, LDAP, HTTP, DHCP and fault stories among them.
    expect(confinable.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'f4-no-dc-locator',
        'f6-clock-skew',
        'f14-no-sip-records',
        'f22-no-autodiscover',
        'f8-certsrv-404',
        'f19-dus-blank-urls',
        'f2-no-dns-suffixes',
      ]),
    )
    // What README's training section says: 25 of the catalogue's 41 stories stay on one phone.
    const all = readdirSync(STORIES).filter((f) => f.endsWith('.yaml') && f !== 'default.yaml')
    const kept = all.filter((f) => t.lab.devicePlan(loadScenario(join(STORIES, f))).labWide.length === 0)
    expect([kept.length, all.length]).toEqual([25, 41])
    // F1 lives five lab minutes (it keeps broadcasting), so the one-boot loop below leaves it out; its fault,
    // scoped to one phone, is confined all the same.
    expect(kept).toContain('f1-no-dhcp-offer.yaml')
    const lab = storyPhone(t.lab.scenario)
    for (const story of confinable) {
      t.lab.confine(ANN, story)
      const own = storyPhone(story)
      const ann = await runPhone(scenarioPhone(t, ANN, own.firmware, own.guesses))
      const ben = await runPhone(scenarioPhone(t, BEN, lab.firmware, lab.guesses))
      expect([story.name, ann.endState, ben.endState]).toEqual([
        story.name,
        story.expect.endState,
        'signed-in',
      ])
      t.lab.confine(ANN, undefined)
    }
    expect(t.lab.journal.query({ kind: 'lab:device-view' }).length).toBe(confinable.length * 2)
  }, 120_000)

  it('refuses a story that changes the lab for every phone, naming what, and changes nothing', async () => {
    await using t = await startTestLab(undefined, { file: join(STORIES, 'default.yaml') })
    const f10 = loadScenario(join(STORIES, 'f10-sha2-root.yaml'))
    expect(() => t.lab.confine(ANN, f10)).toThrow(
      /f10-sha2-root cannot be confined to 00:04:f2:00:7d:01: it changes pki/,
    )
    expect(t.lab.deviceViews.list()).toEqual([])
    expect((await runPhone(scenarioPhone(t, ANN))).endState).toBe('signed-in')
  })
})
