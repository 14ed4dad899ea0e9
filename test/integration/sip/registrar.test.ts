import { describe, expect, it } from 'vitest'
import { manualClock } from '../../../core/clock.js'
import { startTestLab } from '../../helpers/lab.js'
import { SipTestClient } from '../../helpers/sip-client.js'
import { isoAfter } from '../../helpers/time.js'

const SCENARIO = `version: 1
name: registrar
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - { signInAddress: alice@contoso.test, password: Passw0rd!, displayName: Alice Anders }
`
const ALICE = ['alice@contoso.test', 'alice', 'Passw0rd!'] as const

interface Registrations {
  registrations: { user: string; since: string; until: string; refreshed: number }[]
}

async function registrations(url: string): Promise<Registrations['registrations']> {
  const r = await fetch(`${url}/sip/registrations`)
  return ((await r.json()) as Registrations).registrations
}

describe('the registrar as OCS keeps it', () => {
  it('a phone that stops re-registering drops off at its Expires in lab time, journaled', async () => {
    const start = Date.now()
    const clock = manualClock(start)
    await using t = await startTestLab(SCENARIO, { clock })
    await using c = await SipTestClient.tls(t)
    expect((await c.register(...ALICE)).status).toBe(200)
    const [reg] = await registrations(t.admin.url)
    expect(reg).toMatchObject({
      user: 'alice@contoso.test',
      since: isoAfter(start, 0),
      until: isoAfter(start, 900_000),
      refreshed: 0,
    })
    // A re-REGISTER on the security association before Expires moves the end on.
    clock.advance(600_000)
    expect((await c.signed('REGISTER', 'alice@contoso.test')).status).toBe(200)
    expect(await registrations(t.admin.url)).toMatchObject([
      { until: isoAfter(start, 1_500_000), refreshed: 1 },
    ])
    clock.advance(899_000)
    expect(await registrations(t.admin.url)).toHaveLength(1)
    expect(t.lab.journal.query({ kind: 'sip:registration-expired' })).toHaveLength(0)
    clock.advance(1_000)
    const [expired] = t.lab.journal.query({ kind: 'sip:registration-expired' })
    expect(expired).toMatchObject({ device: { user: 'alice@contoso.test' }, detail: { refreshed: 1 } })
    expect(expired?.time).toBe(isoAfter(start, 1_500_000))
    expect(await registrations(t.admin.url)).toHaveLength(0)
  })

  it('a registration ends with its connection, and a signature that does not verify is refused when the scenario says verify', async () => {
    await using t = await startTestLab(`${SCENARIO}servers:\n  sip: { signatures: verify }\n`)
    {
      await using c = await SipTestClient.tls(t)
      expect((await c.register(...ALICE)).status).toBe(200)
      const bad = await c.request('SUBSCRIBE', 'alice@contoso.test', ['Event: presence', c.unsignedOnSa()])
      expect(bad.status).toBe(401)
      expect(t.lab.journal.query({ kind: 'sip:request' }).at(-1)?.summary).toContain('does not verify')
      expect(await registrations(t.admin.url)).toHaveLength(1)
    }
    const gone = await t.lab.journal.waitFor({ kind: 'sip:unregistered' })
    expect(gone.summary).toContain('the connection closed')
    expect(await registrations(t.admin.url)).toHaveLength(0)
  })
})
