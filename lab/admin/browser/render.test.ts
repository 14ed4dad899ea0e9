import { describe, expect, it } from 'vitest'
import { faultRule, faultsHtml, journalBanner, laneHtml, scriptLine } from './render.js'
import type { Lane } from './wire.js'

/* What the dashboard draws, tested without a browser (the Chromium tests drive the page itself). */
const lane: Lane = {
  key: 'mac:00:04:f2:00:00:01',
  macs: ['00:04:f2:00:00:01'],
  ips: ['127.1.0.1'],
  users: ['alice@contoso.test'],
  events: [
    {
      seq: 1,
      time: '2026-12-07T10:00:00.000Z',
      stage: 'DHCP',
      summary: 'ACK <b>',
      ok: true,
      detail: { type: 'ACK' },
    },
    { seq: 2, time: '2026-12-07T10:00:01.000Z', stage: 'DNS', summary: 'NXDOMAIN', ok: false, detail: {} },
  ],
  stages: { DHCP: { count: 1, failed: 0, last: 'ok' }, DNS: { count: 1, failed: 1, last: 'failed' } },
  screen: 'Locating Domain Controller',
  alert: 'no request for 90 s after DNS',
  lastTime: '2026-12-07T10:00:01.000Z',
}

describe('the dashboard’s drawing', () => {
  it('draws a lane: the screen, the alert, a stage per boot stage, and the open stage’s events, escaped', () => {
    const html = laneHtml(lane, ['DHCP', 'DNS', 'NTP'], new Set(['mac:00:04:f2:00:00:01|DHCP']), [
      { step: 0, name: 'pool-down', at: '2026-12-07T10:00:00.500Z' },
    ])
    expect(html).toContain('<span class="screen">Locating Domain Controller</span>')
    expect(html).toContain('<span class="alert" role="alert">no request for 90 s after DNS</span>')
    expect(html).toContain(
      'class="stage failed" data-open="mac:00:04:f2:00:00:01|DNS" aria-expanded="false">DNS<br>✗ 1',
    )
    expect(html).toContain('data-open="mac:00:04:f2:00:00:01|NTP" aria-expanded="false" disabled>NTP<br>—')
    expect(html).toContain('ACK &lt;b&gt;')
    expect(html).not.toContain('NXDOMAIN') // DNS is not open
    expect(html).toContain('⚑ pool-down 10:00:00')
    expect(html).toContain('data-command="hard-reset" data-mac="00:04:f2:00:00:01"')
  })

  it('turns the fault form into a rule: numbers read, k=v pairs split, empty fields left out', () => {
    expect(
      faultRule({
        server: 'dns',
        kind: 'answer',
        set: 'ttl=5, rcode=SERVFAIL',
        field: 'qname=_ldap.*',
        times: '2',
        code: '',
        ms: '',
      }),
    ).toEqual({
      match: { server: 'dns', fields: { qname: '_ldap.*' } },
      fault: { kind: 'answer', set: { ttl: 5, rcode: 'SERVFAIL' } },
      times: 2,
    })
    expect(faultRule({ server: 'ntp', kind: 'delay', ms: '300' })).toEqual({
      match: { server: 'ntp' },
      fault: { kind: 'delay', ms: 300 },
    })
  })

  it('says where the script stands, and lists faults with a remove button each', () => {
    expect(scriptLine({ steps: 0, fired: [], paused: false })).toBe('The scenario has no script.')
    expect(scriptLine({ steps: 3, fired: [], next: 1, paused: true })).toBe('Step 2 of 3 waiting (paused).')
    expect(scriptLine({ steps: 3, fired: [], paused: false })).toBe('Done.')
    expect(faultsHtml([])).toBe('<li class="muted">none</li>')
    const html = faultsHtml([
      { id: 'f1', origin: 'admin', applied: 2, rule: { match: { server: 'dns' }, fault: { kind: 'drop' } } },
    ])
    expect(html).toContain('<button type="button" data-remove="f1">Remove f1</button>')
    expect(html).toContain('(admin, applied 2)')
  })
})

describe('the journal banner', () => {
  it('shows while the journal file cannot be written, with how many events are in memory only', () => {
    expect(journalBanner({ writing: true, missing: 0 })).toBeUndefined()
    expect(journalBanner(undefined)).toBeUndefined()
    expect(
      journalBanner({ writing: false, missing: 12, error: 'ENOSPC: no space left on device, write' }),
    ).toBe(
      "The journal file cannot be written (ENOSPC: no space left on device, write): 12 event(s) are in memory only. Free space in the lab's state folder; writing resumes by itself.",
    )
  })
})
