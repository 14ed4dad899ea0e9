import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Client } from 'ldapts'
import { certificateDer } from '../certs/export.js'
import { loadScenario } from '../lab/scenario/load.js'
import { packageRoot } from '../lab/paths.js'
import { buildDirectory, type DirEntry } from '../servers/ldap/directory.js'
import { LabClient } from '../lab/client/index.js'
import { median, result } from './report.js'
import { labPki, startLabProcess, stopProcess, which } from './process.js'

/**
 * Searches per second against the lab's AD double (journal on) and against OpenLDAP slapd seeded with the
 * same entries, in one run, alternating rounds. Each round: 4 clients (ldapts), each binds as the user and
 * then repeats the CX700's two trust searches (spec §2.5) — certificationAuthority objects with
 * cACertificate;binary, and pKIEnrollmentService with dNSHostName — under the Configuration NC.
 * slapd needs AD's attributes, so a small schema defines them (OpenLDAP's experimental OID arc).
 */
const SCHEMA = `
attributetype ( 1.3.6.1.4.1.4203.666.77.1 NAME 'objectCategory' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.77.2 NAME 'dNSHostName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.4203.666.77.3 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.4203.666.77.4 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.4203.666.77.5 NAME 'msRTCSIP-PrimaryUserAddress' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.4203.666.77.6 NAME 'certificateTemplates' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
objectclass ( 1.3.6.1.4.1.4203.666.77.10 NAME 'pKIEnrollmentService' SUP top AUXILIARY MAY ( dNSHostName $ cACertificate $ certificateTemplates ) )
objectclass ( 1.3.6.1.4.1.4203.666.77.11 NAME 'adObject' SUP top AUXILIARY MAY ( objectCategory $ sAMAccountName $ userPrincipalName $ msRTCSIP-PrimaryUserAddress $ displayName $ mail ) )
`

const PASSWORD = 'Passw0rd!'

/** LDIF of the lab's directory as slapd can hold it (AD's classes mapped onto OpenLDAP's). */
function ldif(entries: readonly DirEntry[], userDn: string): string {
  const out: string[] = []
  for (const e of entries) {
    const classes = (e.attributes.get('objectclass')?.values ?? []).map(String)
    const lines = [`dn: ${e.dn}`]
    const oc = ['top', 'adObject']
    if (classes.includes('domainDNS')) oc.push('domain', 'dcObject')
    else if (classes.includes('user')) oc.push('inetOrgPerson')
    else oc.push('applicationProcess')
    if (classes.includes('certificationAuthority')) oc.push('certificationAuthority')
    if (classes.includes('pKIEnrollmentService')) oc.push('pKIEnrollmentService')
    for (const c of oc) lines.push(`objectClass: ${c}`)
    const keep = [
      'cn',
      'dc',
      'objectcategory',
      'dnshostname',
      'samaccountname',
      'userprincipalname',
      'msrtcsip-primaryuseraddress',
      'displayname',
      'mail',
      'certificatetemplates',
    ]
    for (const k of keep)
      for (const v of e.attributes.get(k)?.values ?? [])
        lines.push(`${e.attributes.get(k)!.name}: ${v.toString('utf8')}`)
    for (const k of ['cacertificate', 'certificaterevocationlist', 'authorityrevocationlist'])
      for (const v of e.attributes.get(k)?.values ?? [])
        lines.push(`${e.attributes.get(k)!.name};binary:: ${v.toString('base64')}`)
    if (classes.includes('user')) lines.push(`sn: ${String(e.attributes.get('cn')?.values[0] ?? 'x')}`)
    if (e.dn === userDn) lines.push(`userPassword: ${PASSWORD}`)
    out.push(lines.join('\n'))
  }
  return out.join('\n\n') + '\n'
}

async function startSlapd(dir: string, suffix: string, seed: string, port: number): Promise<ChildProcess> {
  const db = join(dir, 'db')
  mkdirSync(db, { recursive: true })
  writeFileSync(join(dir, 'ad-lab.schema'), SCHEMA)
  writeFileSync(
    join(dir, 'slapd.conf'),
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      `include ${join(dir, 'ad-lab.schema')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      `pidfile ${join(dir, 'slapd.pid')}`,
      'database mdb',
      `suffix "${suffix}"`,
      `rootdn "CN=admin,${suffix}"`,
      `directory ${db}`,
      'maxsize 104857600',
      'access to * by * read',
      '',
    ].join('\n'),
  )
  writeFileSync(join(dir, 'seed.ldif'), seed)
  execFileSync(which('slapadd')!, ['-q', '-f', join(dir, 'slapd.conf'), '-l', join(dir, 'seed.ldif')], {
    stdio: 'pipe',
  })
  const child = spawn(
    which('slapd')!,
    ['-f', join(dir, 'slapd.conf'), '-h', `ldap://127.0.0.1:${port}/`, '-d', '0'],
    { stdio: 'ignore' },
  )
  for (let i = 0; i < 100; i++) {
    const c = new Client({ url: `ldap://127.0.0.1:${port}`, connectTimeout: 200 })
    try {
      await c.search('', { scope: 'base' })
      return child
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    } finally {
      await c.unbind().catch(() => undefined)
    }
  }
  await stopProcess(child)
  throw new Error('slapd did not answer')
}

/** N clients, each bound, repeating the two trust searches for `seconds`; returns searches per second. */
async function round(
  port: number,
  bindDn: string,
  configDn: string,
  seconds: number,
  clients = 4,
): Promise<number> {
  const deadline = performance.now() + seconds * 1000
  let done = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new Client({ url: `ldap://127.0.0.1:${port}`, timeout: 5_000 })
      await c.bind(bindDn, PASSWORD)
      try {
        while (performance.now() < deadline) {
          const ca = await c.search(configDn, {
            filter: '(objectClass=certificationAuthority)',
            attributes: ['cACertificate;binary'],
            explicitBufferAttributes: ['cACertificate;binary'],
          })
          const es = await c.search(configDn, {
            filter: '(objectClass=pKIEnrollmentService)',
            attributes: ['dNSHostName'],
          })
          if (ca.searchEntries.length === 0 || es.searchEntries.length !== 1)
            throw new Error(`port ${port} answered the trust searches wrongly`)
          done += 2
        }
      } finally {
        await c.unbind()
      }
    }),
  )
  return done / ((performance.now() - t0) / 1000)
}

export async function ldap(rounds = 3, seconds = 4): Promise<void> {
  for (const t of ['slapd', 'slapadd'])
    if (!which(t)) throw new Error(`${t} is not installed (apt-get install slapd)`)
  const base = mkdtempSync(join(tmpdir(), 'cx700-bench-ldap-'))
  let lab: Awaited<ReturnType<typeof startLabProcess>> | undefined
  let slapd: ChildProcess | undefined
  try {
    const state = join(base, 'state')
    lab = await startLabProcess(state)
    const labPort = (await new LabClient(lab.adminUrl).endpoints()).endpoints.find(
      (e) => e.name === 'ldap',
    )!.port
    // The same directory, built from the same scenario and the same CA the running lab uses.
    const scenario = loadScenario(join(packageRoot(), 'scenarios', 'default.yaml'))
    const pki = await labPki(state, scenario)
    const rootDer = Buffer.from(certificateDer(pki.root.certificate))
    const directory = buildDirectory({
      ...scenario,
      pki: { root: rootDer, issuing: rootDer, caObjects: 'lab', enrollmentService: true },
    })
    const userDn = directory.accounts[0]!.dn
    const slapdPort = labPort + 7
    slapd = await startSlapd(
      join(base, 'slapd'),
      directory.domainDn,
      ldif(directory.entries, userDn),
      slapdPort,
    )
    await round(labPort, userDn, directory.configurationDn, 1) // warm both
    await round(slapdPort, userDn, directory.configurationDn, 1)
    const labRates: number[] = []
    const peerRates: number[] = []
    for (let i = 0; i < rounds; i++) {
      labRates.push(await round(labPort, userDn, directory.configurationDn, seconds))
      peerRates.push(await round(slapdPort, userDn, directory.configurationDn, seconds))
    }
    const l = median(labRates)
    const p = median(peerRates)
    console.log(`lab (cx700-lab, journal on): ${labRates.map(Math.round).join(', ')} searches/s`)
    console.log(
      `peer (slapd ${directory.entries.length} entries): ${peerRates.map(Math.round).join(', ')} searches/s`,
    )
    result('ldap', {
      lab: Math.round(l),
      peer: Math.round(p),
      ratio: l / p,
      unit: 'searches/s',
      clients: 4,
      rounds,
    })
  } finally {
    if (slapd) await stopProcess(slapd)
    if (lab) await lab.stop()
    rmSync(base, { recursive: true, force: true })
  }
}
