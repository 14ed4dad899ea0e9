import { describe, expect, it } from 'vitest'
import { showsFault, traineeEvents } from './training.js'

/* A trainee never reads an event that shows a fault: decided on kinds and fields, never on a summary's words. */
const ev = (kind: string, summary: string, detail: Record<string, unknown> = {}) => ({
  kind,
  summary,
  detail,
})

describe('what a trainee may read', () => {
  it('leaves out the fault engine’s events and every event a server marked with the fault it carried out', () => {
    const events = [
      ev('dhcp:reply', 'OFFER 10.50.0.100 to 00:04:f2:00:00:01', { type: 'OFFER' }),
      // NTP's garbage names no "fault" in its summary: the old filter on words let it through.
      ev('ntp:response', 'garbage: 48 random bytes', { bytes: 48, fault: 'garbage' }),
      ev('fault:applied', 'rule f1 applied to dns'),
      ev('dns:query', '_ldap._tcp.dc._msdcs.corp.contoso.test SRV → SERVFAIL', {
        rcode: 'SERVFAIL',
        fault: 'error',
      }),
      ev('ldap:search', 'search certificationAuthority → success', { result: 'success' }),
    ]
    expect(traineeEvents(events).map((e) => e.kind)).toEqual(['dhcp:reply', 'ldap:search'])
    expect(showsFault(ev('sip:request', 'REGISTER → 503 (fault)', { status: 503, fault: 'error' }))).toBe(
      true,
    )
    // A summary that happens to say "fault" is not a fault.
    expect(showsFault(ev('http:request', 'GET /fault-tolerance.htm → 404', { status: 404 }))).toBe(false)
  })
})
