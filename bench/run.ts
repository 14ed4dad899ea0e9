import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { dhcp } from './dhcp.js'
import { dns } from './dns.js'
import { http } from './http.js'
import { kerberos } from './kerberos.js'
import { ldap } from './ldap.js'
import { pki } from './pki.js'
import { printProfiles } from './profile.js'
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

const { values, positionals: names } = parseArgs({
  allowPositionals: true,
  options: { profile: { type: 'string' } },
})
if (names.length === 0 || names.some((n) => !(n in BENCHES))) {
  console.error(`Usage: npm run bench -- <${Object.keys(BENCHES).join('|')}>… [--profile DIR]`)
  process.exitCode = 2
} else {
  // Every lab process a bench starts writes a CPU profile into DIR; their summaries follow the results.
  if (values.profile !== undefined) {
    mkdirSync(values.profile, { recursive: true })
    process.env.BENCH_PROFILE = resolve(values.profile)
  }
  for (const n of names) await BENCHES[n]!()
  if (values.profile !== undefined) printProfiles(values.profile)
}
