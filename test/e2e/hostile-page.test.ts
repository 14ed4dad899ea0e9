import { createServer, type Server } from 'node:http'
import { chromium } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { BROWSER_FLAGS, browserTool } from '../helpers/browser.js'
import { startTestLab } from '../helpers/lab.js'

/*
 * A hostile web page open in the operator's browser on the lab's host (issue "Reliability and security,
 * second probe", finding 2). The page, served from another origin on loopback, tries what the probe did:
 * read the journal, swap the scenario with a text/plain POST, clear the journal, hard-reset a phone. Then a
 * DNS-rebinding name (evil.example, mapped to 127.0.0.1 in Chromium) is pointed at the admin API itself.
 * The lab is as it was, and the page read nothing.
 */
const HOSTILE = (admin: string): string => `<!doctype html><title>cute cats</title><script type="module">
const admin = ${JSON.stringify(admin)}
const out = {}
const attempt = async (name, f) => { try { out[name] = await f() } catch (e) { out[name] = 'blocked' } }
await attempt('read', async () => (await (await fetch(admin + '/journal')).text()).slice(0, 200))
const yaml = 'version: 1\\nname: swapped\\nsite: { sipDomain: evil.test }\\n'
await attempt('swap', async () => (await fetch(admin + '/scenario', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: yaml })).type)
await attempt('clear', async () => (await fetch(admin + '/journal/clear', { method: 'POST', mode: 'no-cors' })).type)
await attempt('reset', async () => (await fetch(admin + '/phones/00:04:f2:aa:bb:cc/hard-reset', { method: 'POST', mode: 'no-cors' })).type)
window.result = out
document.title = 'done'
</script>`

function serve(html: string): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html))
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

describe.skipIf(browserTool.skip)('a hostile page in the operator’s browser', () => {
  it('can neither change the lab nor read it, from another origin or by DNS rebinding', async () => {
    await using t = await startTestLab()
    const admin = t.admin.url.replace('0.0.0.0', '127.0.0.1')
    const before = t.lab.journal.query({}).length
    const hostile = await serve(HOSTILE(admin))
    const browser = await chromium.launch({
      executablePath: browserTool.path!,
      headless: true,
      args: [...BROWSER_FLAGS, '--host-resolver-rules=MAP evil.example 127.0.0.1'],
    })
    try {
      const page = await browser.newPage()
      const { port } = hostile.address() as { port: number }
      await page.goto(`http://evil.example:${port}/`)
      await page.waitForFunction('document.title === "done"')
      const result = await page.evaluate<Record<string, string>>('window.result')
      expect(result.read).toBe('blocked')
      // The writes went out opaque (no-cors): the browser sent them; the lab refused each.
      expect(t.lab.scenario.name).toBe('test')
      expect(t.lab.journal.query({ kind: 'lab:phone-command' })).toEqual([])
      expect(t.lab.journal.query({}).length).toBeGreaterThanOrEqual(before)
      // Rebinding: the attacker's name now resolves to the lab; the browser asks the admin API under it.
      const rebound = await page.goto(admin.replace('127.0.0.1', 'evil.example') + '/journal')
      expect(rebound?.status()).toBe(403)
      expect(await page.textContent('body')).not.toContain('lab:started')
    } finally {
      await browser.close()
      await new Promise((r) => hostile.close(r))
    }
  })
})
