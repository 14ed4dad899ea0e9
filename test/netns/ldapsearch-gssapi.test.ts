import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MINIMAL_SCENARIO } from '../helpers/lab.js'
import { createNetns, type Netns } from '../helpers/netns.js'
import { spawnLab, type LabProcess } from '../helpers/process.js'
import { debianPackage, rootSkip, tool } from '../helpers/tools.js'

const ldapsearch = tool('ldapsearch', 'ldap-utils')
const kinit = tool('kinit', 'krb5-user')
const ip = tool('ip', 'iproute2')
const saslGssapi = debianPackage('libsasl2-modules-gssapi-mit')
const skip = rootSkip() ?? ldapsearch.skip ?? kinit.skip ?? ip.skip ?? saslGssapi.skip

/**
 * ldapsearch -Y GSSAPI (libsasl2's GSSAPI plugin) names the service by the host it connects to (ldap/<host>),
 * so it must reach the DC by name: the lab runs in netns mode (88, 389) in a namespace of the test's own, whose /etc/hosts
 * (/etc/netns/<name>/hosts, which `ip netns exec` mounts) names the DC.
 */
describe.skipIf(skip)(`ldapsearch -Y GSSAPI against the AD double (${skip ?? 'root'})`, () => {
  let ns: Netns
  let lab: LabProcess
  let dir: string
  let etc: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cx700-gssapi-'))
    ns = await createNetns()
    etc = join('/etc/netns', ns.name)
    mkdirSync(etc, { recursive: true })
    writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost\n127.0.0.1 dc1.contoso.test dc1\n')
    writeFileSync(
      join(dir, 'krb5.conf'),
      '[libdefaults]\n  default_realm = CONTOSO.TEST\n  dns_lookup_kdc = false\n  rdns = false\n  dns_canonicalize_hostname = false\n[realms]\n  CONTOSO.TEST = {\n    kdc = 127.0.0.1\n  }\n',
    )
    writeFileSync(join(dir, 'lab.yaml'), MINIMAL_SCENARIO)
    lab = await spawnLab(
      [join(dir, 'lab.yaml'), '--mode', 'netns', '--admin', '127.0.0.1:0', '--state', join(dir, 'state')],
      { spawner: (argv) => ns.spawn(argv) },
    )
  })

  afterAll(async () => {
    await lab?.[Symbol.asyncDispose]()
    await ns?.[Symbol.asyncDispose]()
    if (etc) rmSync(etc, { recursive: true, force: true })
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const env = (): string[] => [
    'env',
    `KRB5_CONFIG=${join(dir, 'krb5.conf')}`,
    `KRB5CCNAME=FILE:${join(dir, 'cc')}`,
  ]

  it('kinit, then ldapsearch binds with GSSAPI (no security layer) and reads the CA objects', async () => {
    const k = await ns.exec(['sh', '-c', `echo 'Passw0rd!' | ${env().join(' ')} ${kinit.path!} alice`])
    expect(k.code, k.stderr).toBe(0)
    const r = await ns.exec([
      ...env(),
      ldapsearch.path!,
      '-Y',
      'GSSAPI',
      '-O',
      'maxssf=0',
      '-N',
      '-LLL',
      '-H',
      'ldap://dc1.contoso.test',
      '-b',
      'CN=Configuration,DC=contoso,DC=test',
      '(objectCategory=certificationAuthority)',
      'cn',
    ])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stderr).toContain('SASL/GSSAPI authentication started')
    expect(r.stdout.match(/^dn: /gm)?.length).toBe(3)
  })
})
