import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readPcapng } from '../../core/capture/pcapng.js'
import { goldenOf } from '../../lab/admin/golden.js'
import type { DeviceTimeline } from '../../lab/admin/timeline.js'
import { packageRoot } from '../../lab/paths.js'
import { LivingPhone } from '../../phone/life.js'
import { alicePhone, signInAlice } from '../helpers/phone.js'
import { MINIMAL_SCENARIO, startTestLab, type TestLab } from '../helpers/lab.js'
import { manualClock } from '../../core/clock.js'
import { browserTool, sharedBrowser } from '../helpers/browser.js'

const OUT = join(packageRoot(), 'test-output', 'dashboard')

const boot = (t: TestLab, mac: string) => signInAlice(t, mac, '3.5.6907.35')

describe.skipIf(browserTool.skip)('the dashboard in headless Chromium', () => {
  const browser = sharedBrowser(OUT)

  it('shows a phone’s stages live, takes a fault from the page, and shows the next boot failing at the DC', async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    const page = await browser().newPage({ viewport: { width: 1280, height: 900 } })
    const asked: string[] = []
    page.on('request', (r) => asked.push(new URL(r.url()).pathname))
    await page.goto(t.admin.url.replace('0.0.0.0', '127.0.0.1'))
    await expect.poll(() => page.locator('#live').textContent()).toBe('live')
    await expect.poll(() => page.locator('#servers tr').count()).toBeGreaterThan(5)
    // Outside a class the page never asks for /training (it used to, and logged a 404 each time).
    expect(asked).toContain('/scenario')
    expect(asked.filter((p) => p.startsWith('/training'))).toEqual([])
    expect(await page.locator('#training').isHidden()).toBe(true)
    expect(await page.locator('#servers').textContent()).toContain('listening')
    expect(await page.locator('#memory').textContent()).toMatch(/^Memory: RSS \d+(\.\d)? MiB .*journal \d/)

    // A phone boots: its lane appears and fills in, stage by stage, from the journal stream.
    expect((await boot(t, '00:04:f2:00:00:01')).endState).toBe('signed-in')
    const lane = page.locator('article.lane').first()
    const stage = (name: string) => lane.locator(`button.stage[data-open$="|${name}"]`)
    await expect.poll(() => stage('EWS').getAttribute('class')).toContain('ok')
    for (const s of ['DHCP', 'DNS', 'NTP', 'DC/LDAP', 'SIP', 'Autodiscover'])
      expect(await stage(s).getAttribute('class')).toContain('ok')
    await expect.poll(() => lane.locator('.screen').textContent()).toBe('Signed in')
    await page.screenshot({ path: join(OUT, '1-signed-in.png'), fullPage: true })

    // A fault from the page: the DC answers every LDAP request with "unavailable".
    await page.selectOption('#fault-server', 'ldap')
    await page.selectOption('#fault-kind', 'error')
    await page.fill('#fault-code', 'unavailable')
    await page.click('#fault-form button[type=submit]')
    await expect.poll(() => page.locator('#fault-msg').textContent()).toMatch(/^Added fault/)
    expect(await page.locator('#faults li').count()).toBe(1)
    expect(await page.locator('#faults li code').textContent()).toContain('"unavailable"')

    // The next boot stops at the DC; the page shows the stage failing.
    expect((await boot(t, '00:04:f2:00:00:02')).endState).toBe('dc-not-found')
    await expect.poll(() => stage('DC/LDAP').getAttribute('class')).toContain('failed')

    // Keyboard: the stage expands its events with Enter.
    await stage('DC/LDAP').focus()
    await page.keyboard.press('Enter')
    await expect.poll(() => lane.locator('details').count()).toBeGreaterThan(0)
    await expect
      .poll(() => lane.locator('details summary').allTextContents())
      .toEqual(expect.arrayContaining([expect.stringContaining('unavailable')]))
    await page.screenshot({ path: join(OUT, '2-dc-failing.png'), fullPage: true })

    // The timeline exports as JSON and as a self-contained HTML file.
    const key = await lane.getAttribute('data-device')
    const html = await (
      await fetch(
        `${t.admin.url.replace('0.0.0.0', '127.0.0.1')}/timeline/${encodeURIComponent(key!)}?format=html`,
      )
    ).text()
    expect(html).toContain('<!doctype html>')
    // Nothing it would load or run: no script, no reference out (text such as an XML namespace is just text).
    expect(html).not.toMatch(/<script|(?:src|href)\s*=\s*["']?https?:\/\/(?!127\.0\.0\.1)/i)
    expect(html).toContain('unavailable')
    // The bug report carries the boot's ladder diagram, and Chromium reads it: a row per exchange, each
    // server a column, the DC's answers failing (issue 36).
    const report = await browser().newPage({ viewport: { width: 1400, height: 900 } })
    await report.setContent(html)
    expect(await report.locator('svg.ladder g.row').count()).toBeGreaterThan(5)
    expect(await report.locator('svg.ladder g.row.failed[data-stage="DC/LDAP"]').count()).toBeGreaterThan(0)
    expect(await report.locator('svg.ladder text.col').allTextContents()).toEqual(
      expect.arrayContaining(['dhcp', 'dns', 'ldap']),
    )
    const box = await report.locator('svg.ladder').boundingBox()
    expect(box?.height).toBeGreaterThan(200)
    await report.screenshot({ path: join(OUT, '2b-ladder.png'), fullPage: true })
    await report.close()
    // The lane links to it, for the phone and for each open stage.
    expect(await lane.locator('a.ladder-link').first().getAttribute('href')).toBe(
      `/timeline/${encodeURIComponent(key!)}?format=svg`,
    )
    expect(await lane.locator('a.ladder-link', { hasText: 'Ladder of DC/LDAP' }).getAttribute('href')).toBe(
      `/timeline/${encodeURIComponent(key!)}?format=svg&stage=DC%2FLDAP`,
    )
    await page.close()
  })

  it('shows who is registered, runs the lab clock fast from the page, and reboots a living phone from its lane', async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    const page = await browser().newPage()
    await page.goto(t.admin.url.replace('0.0.0.0', '127.0.0.1'))
    await expect.poll(() => page.locator('#live').textContent()).toBe('live')
    const mac = '00:04:f2:00:00:21'
    const phone = new LivingPhone({
      ...alicePhone(t, mac, '3.5.6907.35'),
      clock: t.lab.clock,
      commands: () => t.lab.phoneCommands.take(mac),
    })
    const living = phone.run()
    try {
      await expect
        .poll(() => page.locator('#registrations').textContent(), { timeout: 15_000 })
        .toContain('alice@contoso.test')
      await page.fill('#clock-rate-in', '600')
      await page.click('#clock-form button[type=submit]')
      await expect.poll(() => page.locator('#clock-rate').textContent()).toBe('600')
      const since = t.lab.journal.lastSeq
      await page.click(`button[data-command="reboot"][data-mac="${mac}"]`)
      await t.lab.journal.waitFor({ kind: 'lab:phone-command' })
      await expect
        .poll(() => t.lab.journal.query({ kind: 'dhcp:request', device: mac, afterSeq: since }).length, {
          timeout: 15_000,
        })
        .toBeGreaterThan(0)
      await page.screenshot({ path: join(OUT, '3-registered-and-clock.png'), fullPage: true })
    } finally {
      phone.stop()
      await living
      await page.close()
    }
  })

  it('shows the script’s marks as they fire, and pauses it from the page', async () => {
    const clock = manualClock(Date.UTC(2026, 10, 29, 8, 0, 0))
    await using t = await startTestLab(
      `${MINIMAL_SCENARIO}script:\n  - name: first-mark\n    at: 1m\n  - name: second-mark\n    at: 2h\n`,
      { clock },
    )
    const page = await browser().newPage({ viewport: { width: 1280, height: 900 } })
    try {
      await boot(t, '00:04:f2:00:0d:01')
      await page.goto(t.admin.url.replace('0.0.0.0', '127.0.0.1'))
      await expect
        .poll(() => page.locator('#script-next').textContent(), { timeout: 15_000 })
        .toBe('Step 1 of 2 waiting.')
      clock.advance(60_000)
      await expect
        .poll(() => page.locator('#script-steps').textContent(), { timeout: 15_000 })
        .toContain('first-mark')
      // The mark is on the phone's lane too, where it happened in its life.
      await expect
        .poll(() => page.locator('article.lane[data-device="mac:00:04:f2:00:0d:01"] .marks').textContent())
        .toContain('⚑ first-mark 08:01:00')
      await page.click('[data-script=pause]')
      await expect
        .poll(() => page.locator('#script-next').textContent())
        .toBe('Step 2 of 2 waiting (paused).')
      clock.advance(3 * 3_600_000)
      expect(t.lab.journal.query({ kind: 'lab:script-step' })).toHaveLength(1)
      await page.screenshot({ path: join(OUT, '4-script.png'), fullPage: true })
    } finally {
      await page.close()
    }
  })

  it('saves a phone’s capture and one stage of it, and compares its boot with a golden file', async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    const mac = '00:04:f2:00:0e:01'
    await boot(t, mac)
    t.lab.journal.flush()
    const page = await browser().newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
    try {
      await page.goto(t.admin.url.replace('0.0.0.0', '127.0.0.1'))
      const lane = page.locator(`article.lane[data-device="mac:${mac}"]`)
      await expect.poll(() => lane.count(), { timeout: 15_000 }).toBe(1)
      const whole = page.waitForEvent('download')
      await lane.locator('button[data-capture]:not([data-stage])').click()
      const file = join(OUT, 'capture.pcapng')
      await (await whole).saveAs(file)
      const all = readPcapng(new Uint8Array(readFileSync(file)))
      expect(all.frames.length).toBeGreaterThan(10)
      expect(all.tlsKeyLog.length).toBeGreaterThan(0)
      await lane.locator('button[data-open$="|SIP"]').click()
      const sip = page.waitForEvent('download')
      await lane.locator('button[data-capture][data-stage="SIP"]').click()
      const sipFile = join(OUT, 'capture-sip.pcapng')
      await (await sip).saveAs(sipFile)
      const sipFrames = readPcapng(new Uint8Array(readFileSync(sipFile))).frames
      expect(sipFrames.length).toBeGreaterThan(0)
      expect(sipFrames.length).toBeLessThan(all.frames.length)
      expect(await page.locator('#capture-msg').textContent()).toMatch(/^Saved cx700-.*SIP\.pcapng/)

      // The boot against itself, then against a golden file that asked one DNS name more.
      const timeline = (await (
        await fetch(`${t.client.baseUrl}/timeline/mac:${mac}`)
      ).json()) as DeviceTimeline
      const golden = goldenOf(timeline)
      const same = join(OUT, 'golden-same.json')
      writeFileSync(same, JSON.stringify(golden))
      await page.selectOption('#golden-device', `mac:${mac}`)
      await page.setInputFiles('#golden-file', same)
      await page.click('#golden-form button[type=submit]')
      await expect
        .poll(() => page.locator('#golden-result').textContent())
        .toContain('booted as golden-same.json did')
      const other = join(OUT, 'golden-other.json')
      const dns = [...(golden.stages.DNS ?? []), { ask: 'wpad.contoso.test A', atMs: 1 }]
      writeFileSync(other, JSON.stringify({ ...golden, stages: { ...golden.stages, DNS: dns } }))
      await page.setInputFiles('#golden-file', other)
      await page.click('#golden-form button[type=submit]')
      await expect
        .poll(() => page.locator('#golden-differences').textContent())
        .toContain('DNS missing: wpad.contoso.test A')
      await page.screenshot({ path: join(OUT, '5-capture-and-golden.png'), fullPage: true })
    } finally {
      await page.close()
    }
  })

  it('names a scenario loaded from the command line by its file, and preselects no other to switch to', async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    await t.client.loadScenario(
      'version: 1\nname: my-site\nsite: { sipDomain: contoso.test }\n',
      '/home/qa/sites/my-site.yaml',
    )
    const page = await browser().newPage()
    try {
      await page.goto(t.admin.url.replace('0.0.0.0', '127.0.0.1'))
      await expect
        .poll(() => page.locator('#scenario-name').textContent())
        .toBe('my-site (sent from /home/qa/sites/my-site.yaml)')
      expect(await page.locator('#scenario-select').inputValue()).toBe('')
      expect(await page.locator('#scenario-select option').count()).toBeGreaterThan(5)
    } finally {
      await page.close()
    }
  })
})
