import { request } from 'node:http'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../../lab/paths.js'
import { startTestLab } from '../../helpers/lab.js'

describe('dashboard routes of the admin API', () => {
  it('serves the page, streams journal events as SSE, and builds device timelines with exports', async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    const base = t.admin.url.replace('0.0.0.0', '127.0.0.1')
    const page = await fetch(`${base}/`)
    expect(page.headers.get('content-type')).toContain('text/html')
    const html = await page.text()
    expect(html).toContain('<title>cx700-lab dashboard</title>')
    // No CDN, nothing remote: the one script is the lab's own, served from /assets/ and built from TypeScript.
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="(?!\/assets\/)|https?:\/\/(?!127\.)/)
    expect(html).toContain('<script type="module" src="/assets/dashboard.js"></script>')
    for (const file of ['dashboard.js', 'api.js', 'render.js', 'escape.js']) {
      const script = await fetch(`${t.admin.url}/assets/${file}`)
      expect(script.status, file).toBe(200)
      expect(script.headers.get('content-type')).toContain('text/javascript')
    }
    expect((await fetch(`${t.admin.url}/assets/..%2Fpackage.json`)).status).toBe(400)

    // SSE: once the stream has opened (its comment line), the next journal event arrives as a `data:` line.
    let opened!: () => void
    const open = new Promise<void>((r) => (opened = r))
    const first = new Promise<string>((resolve, reject) => {
      const req = request(`${base}/journal/events`, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream')
        let text = ''
        res.on('data', (d: Buffer) => {
          text += d.toString()
          if (text.startsWith(': cx700-lab journal')) opened()
          const m = /data: (.+)\n\n/.exec(text)
          if (m) {
            resolve(m[1]!)
            req.destroy()
          }
        })
      })
      req.on('error', reject)
      req.end()
    })
    await open
    t.lab.journal.record({
      server: 'dhcp',
      kind: 'dhcp:request',
      summary: 'DISCOVER from 00:04:f2:00:00:09',
      device: { mac: '00:04:f2:00:00:09' },
    })
    expect(JSON.parse(await first)).toMatchObject({
      kind: 'dhcp:request',
      device: { mac: '00:04:f2:00:00:09' },
    })

    const timeline = (await (await fetch(`${base}/timeline`)).json()) as {
      devices: { key: string; stages: Record<string, unknown> }[]
    }
    expect(timeline.devices.map((d) => d.key)).toContain('mac:00:04:f2:00:00:09')
    const one = await fetch(`${base}/timeline/${encodeURIComponent('mac:00:04:f2:00:00:09')}?format=html`)
    expect(one.headers.get('content-disposition')).toContain(
      'attachment; filename="cx700-timeline-mac_00_04_f2_00_00_09.html"',
    )
    expect(await one.text()).toContain('DISCOVER from 00:04:f2:00:00:09')
    expect((await fetch(`${base}/timeline/mac:nobody`)).status).toBe(404)
    const scenarios = (await (await fetch(`${base}/scenarios`)).json()) as { scenarios: { name: string }[] }
    expect(scenarios.scenarios.map((s) => s.name)).toEqual(
      expect.arrayContaining(['default', 'f8-certsrv-404']),
    )
  })
})
