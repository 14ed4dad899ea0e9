import { dhcp } from './dhcp.js'
import { dns } from './dns.js'
import { http } from './http.js'
import { kerberos } from './kerberos.js'
import { ldap } from './ldap.js'
import { pki } from './pki.js'
import { startup } from './startup.js'
import { storm } from './storm.js'
import { soak } from './soak.js'

/** `npm run bench -- <name>`: one script per measure; never part of `npm test`. */
const BENCHES: Record<string, () => Promise<void>> = {
  startup: () => startup(),
  dns: () => dns(),
  pki: () => pki(),
  ldap: () => ldap(),
  dhcp: () => dhcp(),
  http: () => http(),
  kerberos: () => kerberos(),
  storm: () => storm(),
  soak: () => soak(),
}

const names = process.argv.slice(2)
if (names.length === 0 || names.some((n) => !(n in BENCHES))) {
  console.error(`Usage: npm run bench -- <${Object.keys(BENCHES).join('|')}>…`)
  process.exitCode = 2
} else {
  for (const n of names) await BENCHES[n]!()
}
