import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { startTestLab } from '../helpers/lab.js'
import { pythonModule } from '../helpers/tools.js'

/*
 * Issue 17, finding 2: exchangelib could not use the lab: its version probe (ConvertId) got a SOAP fault
 * with no ServerVersionInfo; GetFolder of the distinguished folders root and msgfolderroot answered
 * ErrorFolderNotFound; IndexedFieldURI (contacts:EmailAddress, contacts:PhoneNumber) was ignored, so
 * contacts showed no e-mail or phone. Exchange 2007 SP1 answers all of these; exchangelib (Debian
 * python3-exchangelib) is the judge.
 */
const run = promisify(execFile)
const exchangelib = pythonModule('exchangelib', 'python3-exchangelib')
const SCRIPT = join(packageRoot(), 'test', 'regressions', 'clients', 'exchangelib-mailbox.py')
const SCENARIO = `version: 1
name: exchangelib
site: { sipDomain: contoso.test }
users:
  - signInAddress: alice@contoso.test
    password: Passw0rd!
    mailbox:
      contacts:
        - { name: Bob Baker, phone: '+15550100', email: bob@contoso.test }
        - { name: Carol Chen, phone: '+15550101' }
`

describe.skipIf(exchangelib.skip)('exchangelib against the EWS double', () => {
  it('finds the version, opens root and msgfolderroot, and reads contacts with e-mail and phone', async () => {
    await using t = await startTestLab(SCENARIO)
    const endpoint = `https://127.0.0.1:${t.port('http', 'https')}/EWS/Exchange.asmx`
    const { stdout } = await run(
      exchangelib.path!,
      [SCRIPT, endpoint, 'CONTOSO\\alice', 'Passw0rd!', 'alice@contoso.test'],
      { timeout: 60_000 },
    )
    expect(JSON.parse(stdout)).toEqual({
      version: 'Exchange2007_SP1',
      build: '8.1.240.6',
      root: 'root', // exchangelib's name for a root whose DisplayName is empty, as Exchange's is
      msgFolderRoot: 'Top of Information Store',
      contacts: [
        { name: 'Bob Baker', email: ['bob@contoso.test'], phone: ['+15550100'] },
        { name: 'Carol Chen', email: [], phone: ['+15550101'] },
      ],
    })
    const probes = await t.client.journal({ server: 'http' })
    expect(probes.some((e) => e.detail.operation === 'ConvertId' && e.detail.status === 200)).toBe(true)
  }, 90_000)
})
