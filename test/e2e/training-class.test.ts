import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { LivingPhone } from '../../phone/life.js'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { scenarioPhone } from '../helpers/phone.js'
import { browserTool, sharedBrowser } from '../helpers/browser.js'

const OUT = join(packageRoot(), 'test-output', 'training-class')
const DEFAULT = join(packageRoot(), 'scenarios', 'default.yaml')
const PACK = join(packageRoot(), 'scenarios', 'training', 'half-day.yaml')
const ANN = '00:04:f2:00:7c:11'
const BEN = '00:04:f2:00:7c:12'

/** A trainee's emulated CX700: it boots, keeps trying, and takes the reboot its trainee asks for. */
function livingPhone(t: TestLab, mac: string): { stop: () => Promise<void> } {
  const phone = new LivingPhone({
    ...scenarioPhone(t, mac),
    clock: t.lab.clock,
    // A desk phone takes about a minute to come back (GUESS); a class's emulated phone need not.
    timings: { rebootS: 1 },
    commands: () => t.lab.phoneCommands.take(mac),
  })
  const life = phone.run()
  return {
    stop: async () => {
      phone.stop()
      await life
    },
  }
}

async function add(page: Page, name: string, mac: string): Promise<string> {
  await page.fill('#trainee-name', name)
  await page.fill('#trainee-device', mac)
  await page.click('#trainee-form button[type=submit]')
  await expect.poll(() => page.locator('#training-msg').textContent()).toContain(`Added ${name}`)
  const link = page.locator(`a.trainee-link[data-trainee="${name}"]`)
  await expect.poll(() => link.count()).toBe(1)
  // The link is shown whole, and that text is the trainee's page.
  const text = (await link.textContent()) ?? ''
  expect(text).toBe(await link.getAttribute('href'))
  return text
}

async function assign(page: Page, name: string, exercise: string, title: string): Promise<void> {
  await page.selectOption('#assign-trainee', { label: name })
  await page.selectOption('#assign-exercise', exercise)
  await expect.poll(() => page.locator('#assign-scope').textContent()).toBe('Runs on their phone only.')
  await page.click('#assign-form button[type=submit]')
  await expect
    .poll(() => page.locator('#training-msg').textContent())
    .toBe(`Assigned “${title}” to ${name} (on their phone only).`)
}

/** What a trainee can read: the page's text and everything their token fetched for it. */
const pageText = (p: Page): Promise<string> => p.locator('body').innerText()

/** A hands-on exercise done from the trainee's page: look, change, reboot, and let the phone judge. */
async function fix(
  p: Page,
  lookup: string,
  edit: { name: string; type: string; value: string },
): Promise<void> {
  await p.fill('#dns-name', lookup)
  await p.selectOption('#dns-type', 'SRV')
  await p.click('#dns-form button[type=submit]')
  await expect.poll(() => p.locator('#dns-out').textContent()).toContain('NXDOMAIN')
  await p.click('#check')
  await expect.poll(() => p.locator('#check-msg').textContent()).toMatch(/^Not yet: your phone shows/)
  await p.fill('#edit-name', edit.name)
  await p.selectOption('#edit-type', edit.type)
  await p.fill('#edit-value', edit.value)
  await p.click('#dns-edit-form button[type=submit]')
  await expect.poll(() => p.locator('#tool-msg').textContent()).toContain(`added ${edit.name}`)
  await p.click('#reboot')
  // The phone reboots on its own (its trainee's command) and signs in; the trainee asks it to judge.
  await expect
    .poll(() => p.locator('#phone-title').textContent(), { timeout: 30_000 })
    .toBe("The phone's screen: Signed in")
  // Signed in is not yet fixed while the phone is still reaching Exchange (signed in without it, F22–F25,
  // is not fixed): a trainee checks again, as the test does until the phone's boot is through.
  await expect
    .poll(
      async () => {
        if ((await p.locator('#verdict').count()) === 0) await p.click('#check')
        return p.locator('#verdict').textContent()
      },
      { timeout: 30_000, interval: 1_000 },
    )
    .toBe('Right')
  expect(await p.locator('#task').innerText()).toContain(
    'You fixed it: your phone signed in after your change.',
  )
}

describe.skipIf(browserTool.skip)('a class in headless Chromium (issue 38)', () => {
  const browser = sharedBrowser(OUT)

  it('two trainees on conflicting stories at once, a choice and a fix each, judged by their phones; the class summary shows both', async () => {
    await using t = await startTestLab(undefined, { file: DEFAULT, training: PACK })
    const trainer = await browser().newPage({ viewport: { width: 1280, height: 1000 } })
    const pages: Page[] = [trainer]
    const phones: { stop: () => Promise<void> }[] = []
    try {
      await trainer.goto(t.admin.url.replace('0.0.0.0', '127.0.0.1'))
      await expect.poll(() => trainer.locator('#training').isVisible()).toBe(true)
      const links = { Ann: await add(trainer, 'Ann', ANN), Ben: await add(trainer, 'Ben', BEN) }
      // A clock ten minutes ahead for Ann, no root in AD for Ben: once two stories no lab could run at once.
      await assign(trainer, 'Ann', 'clock-ahead', 'The time server is ten minutes ahead')
      await assign(trainer, 'Ben', 'no-ca-in-ad', 'The root CA is not published in Active Directory')
      phones.push(livingPhone(t, ANN), livingPhone(t, BEN))
      const [ann, ben] = await Promise.all(
        [links.Ann, links.Ben].map(async (href) => {
          const p = await browser().newPage({ viewport: { width: 1100, height: 1000 } })
          pages.push(p)
          await p.goto(href)
          return p
        }),
      )
      await expect
        .poll(() => ann!.locator('#phone-title').textContent(), { timeout: 20_000 })
        .toMatch(/Locating/)
      await expect
        .poll(() => ben!.locator('#phone-title').textContent(), { timeout: 20_000 })
        .toBe("The phone's screen: Cannot validate server certificate")
      for (const [p, mine, other, secrets] of [
        [ann!, ANN, BEN, /f6-clock-skew|ten minutes|no-ca-in-ad|\bfaults?\b/i],
        [ben!, BEN, ANN, /f7-no-ca-in-ad|not published|clock-ahead|\bfaults?\b/i],
      ] as const) {
        await p.locator('#journal summary').click()
        await expect.poll(() => p.locator('#events li').count()).toBeGreaterThan(0)
        const text = await pageText(p)
        expect(text).toContain(mine)
        expect(text).not.toContain(other)
        expect(text).not.toMatch(secrets)
        expect(await p.locator('#stages .stage').count()).toBe(0)
      }
      await ann!.screenshot({ path: join(OUT, '1-ann-clock.png'), fullPage: true })
      await ann!.check('input[value="Time (NTP)"]')
      await ann!.click('#answer button[type=submit]')
      await ben!.check('input[value="Certificates"]')
      await ben!.click('#answer button[type=submit]')
      for (const p of [ann!, ben!]) await expect.poll(() => p.locator('#verdict').textContent()).toBe('Right')

      // Now a fix each, at once: the DC locator record for Ann, the pool's SIP record for Ben.
      await assign(trainer, 'Ann', 'fix-dc-locator', 'The DC locator record is missing')
      await assign(trainer, 'Ben', 'fix-sip-records', "The pool's SIP records are missing")
      for (const p of [ann!, ben!]) await p.click('#reboot')
      await expect
        .poll(() => ann!.locator('#phone-title').textContent(), { timeout: 30_000 })
        .toMatch(/Locating/)
      await expect
        .poll(() => ben!.locator('#phone-title').textContent(), { timeout: 30_000 })
        .toBe("The phone's screen: Connecting to Office Communications Server")
      await ann!.screenshot({ path: join(OUT, '2-ann-fix.png'), fullPage: true })
      await Promise.all([
        fix(ann!, '_ldap._tcp.dc._msdcs.corp.contoso.test', {
          name: '_ldap._tcp.dc._msdcs.corp.contoso.test',
          type: 'SRV',
          value: '0 100 389 dc1.corp.contoso.test',
        }),
        fix(ben!, '_sipinternaltls._tcp.contoso.test', {
          name: '_sipinternaltls._tcp.contoso.test',
          type: 'SRV',
          value: '0 0 5061 ocspool.contoso.test',
        }),
      ])
      await ben!.screenshot({ path: join(OUT, '3-ben-fixed.png'), fullPage: true })

      // The trainer reads the class summary in the page: both trainees, both exercises right.
      await trainer.click('#class-summary')
      const summary = trainer.frameLocator('#report-frame')
      await expect.poll(() => summary.locator('body').innerText()).toContain('Ann')
      const text = await summary.locator('body').innerText()
      expect(text).toMatch(/Ann\s+2 of 2/)
      expect(text).toMatch(/Ben\s+2 of 2/)
      await trainer.screenshot({ path: join(OUT, '4-class-summary.png'), fullPage: true })
      // And Ann's report: what she looked at and changed, in order.
      await trainer.click('button[data-title="Ann\'s report"]')
      await expect
        .poll(() => summary.locator('body').innerText())
        .toMatch(/dns-lookup — _ldap[\s\S]*check — not yet[\s\S]*dns-edit — added[\s\S]*check — signed in/)
    } finally {
      for (const p of phones) await p.stop()
      for (const p of pages) await p.close()
    }
  }, 150_000)
})
