import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { verifyOnLab } from '../../cli/verify.js'
import { packageRoot } from '../../lab/paths.js'
import { startTestLab } from '../helpers/lab.js'

const catalogue = (file: string): string => join(packageRoot(), 'scenarios', file)

/** A story over a catalogue file: only the phone block (and what follows) differs; expect: is the parent's. */
const over = (parent: string, yaml: string): string =>
  `version: 1\nname: phone-block\nextends: ${catalogue(parent)}\n${yaml}`

describe('the scenario’s phone block drives the phone verify runs', () => {
  it('fails verify when the phone types a wrong password and expect: still says signed-in', async () => {
    await using t = await startTestLab(over('default.yaml', 'phone: { password: NotThePassword1 }\n'))
    expect(t.lab.scenario.expect.endState).toBe('signed-in')
    const result = await verifyOnLab(t.lab)
    expect(result.passed).toBe(false)
    expect(result.report.endState).toBe('sign-in-refused')
    expect(result.divergences[0]).toMatchObject({ what: 'end state', expected: 'signed-in' })
    expect(result.divergences[0]?.got).toContain('KDC_ERR_PREAUTH_FAILED')
  })

  it('signs in with the UPN and the MAC the block names', async () => {
    const mac = '00:04:f2:12:34:56'
    // A simple bind shows the name the phone typed (with its ticket, the DC sees the ticket's principal).
    await using t = await startTestLab(
      over('default.yaml', `phone: { account: upn, mac: '${mac}', guesses: { ldapBind: simple } }\n`),
    )
    const result = await verifyOnLab(t.lab)
    expect(result.divergences).toEqual([])
    expect(result.report.mac).toBe(mac)
    const binds = t.lab.journal.query({ server: 'ldap', kind: 'ldap:bind' })
    expect(binds.map((e) => e.detail.name)).toContain('alice@corp.contoso.test')
    expect(t.lab.journal.query({ server: 'dhcp' }).some((e) => e.device?.mac === mac)).toBe(true)
  })

  it('passes its guesses to the phone: with wins: only, a dead WINS leaves the DC unfound (F3’s other reading)', async () => {
    await using t = await startTestLab(
      over('f3-wins-dead.yaml', 'phone: { guesses: { wins: only } }\nexpect: { endState: dc-not-found }\n'),
    )
    const result = await verifyOnLab(t.lab)
    expect(result.divergences).toEqual([])
    expect(t.lab.journal.query({ server: 'dns' }).some((e) => e.summary.includes('_ldap._tcp.dc'))).toBe(
      false,
    )
  })
})
