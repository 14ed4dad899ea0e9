import { describe, expect, it } from 'vitest'
import { startTestLab } from '../helpers/lab.js'
import { SipTestClient } from '../helpers/sip-client.js'

/*
 * Issue 16, finding 6: after one NTLM REGISTER, a second connection sending only the same `opaque` got 200.
 * A security association belongs to its connection: the first connection may sign on it, another may not.
 */
const SCENARIO = `version: 1
name: sa
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - { signInAddress: alice@contoso.test, password: Passw0rd!, displayName: Alice Anders }
`

describe('SIP security associations', () => {
  it('are honoured on their own connection and refused from another one', async () => {
    await using t = await startTestLab(SCENARIO)
    await using first = await SipTestClient.tls(t)
    expect((await first.register('alice@contoso.test', 'alice', 'Passw0rd!')).status).toBe(200)
    const sa = first.lastOpaque ?? ''
    expect(sa).toMatch(/^[0-9A-F]{8}$/)
    const signed = [first.signedAuthorization('REGISTER', 'alice@contoso.test')]
    expect(signed[0]).toContain(`opaque="${sa}"`)
    expect((await first.request('REGISTER', 'alice@contoso.test', signed)).status).toBe(200)
    await using second = await SipTestClient.tls(t)
    const stolen = await second.request('REGISTER', 'alice@contoso.test', signed)
    expect(stolen.status).toBe(401)
  })
})
