import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { startTestLab } from '../helpers/lab.js'

/*
 * Issue 16, finding 2 (the other half): idle timeouts were reset by one byte every few seconds, so a slow
 * peer held a connection for as long as it liked. A message begun must now end in time (AD's
 * InitRecvTimeout, 120 s by default; 300 ms here), the first one counted from the connection.
 */
const SCENARIO = `version: 1
name: slow
site: { sipDomain: contoso.test }
users: [{ signInAddress: alice@contoso.test, password: Passw0rd! }]
servers:
  ldap: { messageTimeoutMs: 300 }
  sip: { messageTimeoutMs: 300 }
`

/** Connects, sends the first octet of a message, and resolves when the lab closes the connection. */
function trickle(port: number, firstByte: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write(Uint8Array.of(firstByte)))
    s.once('close', () => resolve())
    s.once('error', reject)
    s.resume()
  })
}

describe('a message that begins and does not end', () => {
  it('closes the connection in time on LDAP and on SIP over TLS, journaled', async () => {
    await using t = await startTestLab(SCENARIO)
    await trickle(t.port('ldap', 'ldap'), 0x30)
    await trickle(t.port('sip', 'sip'), 0x16)
    expect(t.lab.journal.query({ kind: 'ldap:timeout' })).toHaveLength(1)
    expect(t.lab.journal.query({ kind: 'sip:timeout' })).toHaveLength(1)
    expect(t.lab.journal.query({ kind: 'sip:timeout' })[0]?.summary).toContain('within 300 ms')
  })
})
