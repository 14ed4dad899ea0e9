import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { pythonModule } from '../helpers/tools.js'

/*
 * Issue 17, finding 5: a subtree search from the domain NC returned the Configuration NC's objects (real AD
 * keeps them in a naming context of their own and refers to it), and the RootDSE lacked subschemaSubentry
 * and supportedCapabilities and carried an empty distinguishedName, so ldap3's get_info=ALL loaded no schema.
 * ldap3 (Debian python3-ldap3), a client nobody here wrote, is the judge.
 */
const run = promisify(execFile)
const ldap3 = pythonModule('ldap3', 'python3-ldap3')
const SCRIPT = join(packageRoot(), 'test', 'regressions', 'clients', 'ldap3-naming-contexts.py')

/** What ldap3 saw of the lab's LDAP port, bound as alice, searching the subtree of `base`. */
async function ldap3Reads(t: TestLab, base: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    ldap3.path!,
    [SCRIPT, '127.0.0.1', String(t.port('ldap', 'ldap')), 'alice@contoso.test', 'Passw0rd!', base],
    { timeout: 30_000 },
  )
  return JSON.parse(stdout) as Record<string, unknown>
}

describe.skipIf(ldap3.skip)('AD naming contexts as ldap3 reads them', () => {
  it('loads the schema from subschemaSubentry and keeps the domain NC apart from Configuration', async () => {
    await using t = await startTestLab()
    const r = (await ldap3Reads(t, 'DC=contoso,DC=test')) as Record<string, unknown[] | boolean | string>
    expect(r.schema).toBe(true)
    expect(r.cACertificate).toBe('1.3.6.1.4.1.1466.115.121.1.40')
    expect(r.namingContexts).toEqual([
      'DC=contoso,DC=test',
      'CN=Configuration,DC=contoso,DC=test',
      'CN=Schema,CN=Configuration,DC=contoso,DC=test',
    ])
    expect(r.capabilities).toContain('1.2.840.113556.1.4.800')
    expect(r.rootDseDn).toEqual([])
    const entries = r.entries as string[]
    expect(entries).toContain('CN=Alice,CN=Users,DC=contoso,DC=test')
    expect(entries.filter((dn) => /CN=Configuration/i.test(dn))).toEqual([])
    expect(r.references).toEqual(['ldap://contoso.test/CN=Configuration,DC=contoso,DC=test'])
  })

  it('still finds the CA objects from the Configuration NC, as the phone searches (spec §2.5)', async () => {
    await using t = await startTestLab()
    const r = (await ldap3Reads(t, 'CN=Configuration,DC=contoso,DC=test')) as {
      entries: string[]
      references: string[]
    }
    expect(r.entries.some((dn) => dn.startsWith('CN=NTAuthCertificates,CN=Public Key Services'))).toBe(true)
    expect(r.references).toEqual(['ldap://contoso.test/CN=Schema,CN=Configuration,DC=contoso,DC=test'])
  })
})
