import { execFile } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { startTestLab } from '../helpers/lab.js'
import { signInAlice } from '../helpers/phone.js'
import { tool } from '../helpers/tools.js'

/*
 * Issue 16, finding 2: LDAP and SIP/TLS held at most 1,024 connections each and kept idle ones for minutes,
 * so 5,000 slow connections locked out ldapsearch (7 of 7 failed) and the phone (dc-not-found,
 * pool-not-found); connections over the cap were destroyed with no journal event. Now one address may hold
 * a bounded number of connections, as AD, IIS and OCS allow a client, and refusals are journaled. The
 * attacker here connects from 127.0.0.2; ldapsearch and the emulated phone from 127.0.0.1.
 */
const run = promisify(execFile)
const ldapsearch = tool('ldapsearch', 'ldap-utils')

/** Opens `count` connections from 127.0.0.2 that each send one byte of a message and then say nothing. */
async function slowConnections(port: number, count: number, firstByte: number): Promise<Socket[]> {
  const sockets: Socket[] = []
  const settled: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' })
    sockets.push(s)
    settled.push(
      new Promise<void>((resolve) => {
        s.once('connect', () => {
          s.write(Uint8Array.of(firstByte))
          resolve()
        })
        s.once('error', () => resolve())
        s.once('close', () => resolve())
      }),
    )
  }
  await Promise.all(settled)
  return sockets
}

describe.skipIf(ldapsearch.skip)('5,000 slow connections on LDAP and on SIP/TLS', () => {
  it('are refused past the per-address limit, journaled, and ldapsearch and the phone are still served', async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    const ldapPort = t.port('ldap', 'ldap')
    const attack = [
      ...(await slowConnections(ldapPort, 5_000, 0x30)),
      ...(await slowConnections(t.port('sip', 'sip'), 5_000, 0x16)),
    ]
    try {
      await expect
        .poll(() => t.lab.journal.query({ kind: 'ldap:connection-refused' }).length)
        .toBeGreaterThan(0)
      await expect
        .poll(() => t.lab.journal.query({ kind: 'sip:connection-refused' }).length)
        .toBeGreaterThan(0)
      const refused = t.lab.journal.query({ kind: 'ldap:connection-refused' })[0]
      expect(refused?.summary).toContain('127.0.0.2')
      const { stdout } = await run(
        ldapsearch.path!,
        ['-x', '-H', `ldap://127.0.0.1:${ldapPort}`, '-s', 'base', '-b', '', 'defaultNamingContext'],
        { timeout: 20_000 },
      )
      expect(stdout).toContain('defaultNamingContext: DC=corp,DC=contoso,DC=test')
      const report = await signInAlice(t, '00:04:f2:00:16:02', '3.5.6907.35')
      expect(report.endState).toBe('signed-in')
    } finally {
      for (const s of attack) s.destroy()
    }
  }, 120_000)
})
