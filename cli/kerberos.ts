import { writeFileSync, chmodSync } from 'node:fs'
import { Etype } from '../core/auth/krb5/crypto.js'
import { encodeKeytab, type KeytabEntry } from '../core/auth/krb5/keytab.js'
import { NameType } from '../core/auth/krb5/messages.js'
import { KerberosRealm, SERVICE_KVNO, loadRealmSecret } from '../core/auth/krb5/realm.js'
import { loadScenario } from '../lab/scenario/load.js'
import { parse, usage } from './args.js'
import { client } from './commands.js'

export const KERBEROS_HELP = `Usage: cx700-lab kerberos keytab FILE [--scenario FILE --state DIR]

Writes the keys of the lab realm's service principals (HTTP/, ldap/, sip/, host/, cifs/ of the lab's hosts;
AES256, AES128 and RC4-HMAC, kvno ${SERVICE_KVNO}) to an MIT keytab (mode 0600), so that MIT's tools can
check the lab's tickets on their own: \`kvno -k FILE HTTP/dc1.corp.contoso.test\`, \`klist -ke FILE\`. The keys
come from the per-lab secret in the state directory; the admin API never serves them.

  --scenario FILE, --state DIR   the realm of this scenario and state directory (default: the running lab's,
                                 from --admin/--lab)
`

export async function kerberos(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    scenario: { type: 'string' },
    state: { type: 'string' },
    admin: { type: 'string' },
    lab: { type: 'string' },
    token: { type: 'string' },
  })
  if (values.help) {
    process.stdout.write(KERBEROS_HELP)
    return 0
  }
  const [verb, file, ...extra] = positionals
  if (verb !== 'keytab' || file === undefined || extra.length > 0) throw usage('kerberos takes: keytab FILE')
  let scenarioFile = values.scenario
  let stateDir = values.state
  if (scenarioFile === undefined || stateDir === undefined) {
    const running = await client({ ...values, admin: values.lab ?? values.admin }).endpoints()
    scenarioFile ??= running.scenarioFile
    stateDir ??= running.stateDir
  }
  const { site, users, hosts } = loadScenario(scenarioFile)
  const realm = new KerberosRealm(loadRealmSecret(stateDir), site, users, hosts)
  const entries: KeytabEntry[] = []
  for (const spn of realm.services) {
    const name = { type: NameType.srvInst, names: spn.split('/') }
    const principal = realm.find(name)!
    for (const etype of [Etype.aes256, Etype.aes128, Etype.rc4])
      entries.push({
        realm: realm.name,
        name,
        timestamp: Date.now(),
        kvno: SERVICE_KVNO,
        key: realm.keyOf(principal, etype),
      })
  }
  writeFileSync(file, encodeKeytab(entries), { mode: 0o600 })
  chmodSync(file, 0o600)
  process.stdout.write(
    `${entries.length} keys of ${realm.services.length} service principals of ${realm.name} written to ${file}\n`,
  )
  return 0
}
