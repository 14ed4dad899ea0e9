import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { manualClock } from '../../core/clock.js'
import { MINIMAL_SCENARIO, startTestLab, type TestLab } from '../helpers/lab.js'
import { pythonModule, tool } from '../helpers/tools.js'
import { SipTestClient } from '../helpers/sip-client.js'

const kinit = tool('kinit', 'krb5-user')
const klist = tool('klist', 'krb5-user')
const kvno = tool('kvno', 'krb5-user')
const skip = kinit.skip ?? klist.skip ?? kvno.skip
const dir = mkdtempSync(join(tmpdir(), 'cx700-krb5-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCENARIO = `${MINIMAL_SCENARIO}  - { signInAddress: bob@contoso.test, password: Passw0rd!, disabled: true }
  - { signInAddress: carol@contoso.test, password: Passw0rd!, passwordExpired: true }
`
let runs = 0

/** An MIT client configured for the lab's KDC alone, with its own credential cache. */
function client(
  t: TestLab,
  libdefaults = '',
): (bin: string, args: string[], input?: string) => Promise<{ code: number; out: string }> {
  const n = ++runs
  const conf = join(dir, `krb5-${n}.conf`)
  writeFileSync(
    conf,
    `[libdefaults]
  default_realm = CONTOSO.TEST
  dns_lookup_kdc = false
  dns_canonicalize_hostname = false
  rdns = false
${libdefaults}
[realms]
  CONTOSO.TEST = {
    kdc = 127.0.0.1:${t.port('kerberos')}
  }
`,
  )
  const env = { ...process.env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${join(dir, `cc-${n}`)}`, LANG: 'C' }
  return (bin, args, input) =>
    new Promise((resolve) => {
      const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 20_000 })
      let out = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr.on('data', (d: Buffer) => (out += d.toString()))
      child.stdin.on('error', () => undefined) // a tool that exits before reading its input
      child.stdin.end(input ?? '')
      child.on('close', (code) => resolve({ code: code ?? -1, out }))
    })
}

const summaries = (t: TestLab): string[] => t.lab.journal.query({ server: 'kerberos' }).map((e) => e.summary)

describe.skipIf(skip)('MIT Kerberos clients against the KDC double', () => {
  it('kinit: pre-authentication required, then a TGT in AES256; klist -e shows it', async () => {
    await using t = await startTestLab(SCENARIO)
    const mit = client(t)
    const r = await mit(kinit.path!, ['alice@CONTOSO.TEST'], 'Passw0rd!\n')
    expect(r.code, r.out).toBe(0)
    const list = await mit(klist.path!, ['-e'])
    expect(list.out).toContain('krbtgt/CONTOSO.TEST@CONTOSO.TEST')
    expect(list.out).toMatch(/Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/)
    expect(summaries(t)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^AS-ERROR KDC_ERR_PREAUTH_REQUIRED alice@CONTOSO.TEST for krbtgt\/CONTOSO.TEST/,
        ),
        expect.stringMatching(/^AS-REP alice@CONTOSO.TEST for krbtgt\/CONTOSO.TEST: ticket/),
      ]),
    )
  })

  it('kvno: service tickets for the lab hosts’ principals (TGS), and a keytab that opens them', async () => {
    await using t = await startTestLab(SCENARIO)
    const mit = client(t)
    expect((await mit(kinit.path!, ['alice'], 'Passw0rd!\n')).code).toBe(0)
    for (const spn of ['HTTP/dc1.contoso.test', 'ldap/dc1.contoso.test', 'sip/ocspool.contoso.test']) {
      const r = await mit(kvno.path!, [spn])
      expect(r.out, spn).toContain(`${spn}@CONTOSO.TEST: kvno = 2`)
    }
    const keytab = join(dir, 'lab.keytab')
    const cli = join(import.meta.dirname, '../../dist/cli/main.js')
    const exported = await mit(process.execPath, [
      cli,
      'kerberos',
      'keytab',
      keytab,
      '--scenario',
      t.lab.scenario.file,
      '--state',
      t.lab.stateDir,
    ])
    expect(exported.code, exported.out).toBe(0)
    const checked = await mit(kvno.path!, ['-k', keytab, 'HTTP/dc1.contoso.test'])
    expect(checked.out).toContain('keytab entry valid')
    expect(
      summaries(t).some((s) => s.startsWith('TGS-REP alice@CONTOSO.TEST for sip/ocspool.contoso.test')),
    ).toBe(true)
    expect((await mit(kvno.path!, ['HTTP/nowhere.contoso.test'])).out).toContain(
      'not found in Kerberos database',
    )
  })

  it('refuses as AD does: wrong password, unknown user, disabled account, expired password', async () => {
    await using t = await startTestLab(SCENARIO)
    const mit = client(t)
    expect((await mit(kinit.path!, ['alice'], 'wrong\n')).out).toMatch(
      /Password incorrect|Preauthentication failed/,
    )
    expect((await mit(kinit.path!, ['nobody'], 'x\n')).out).toContain('not found in Kerberos database')
    expect((await mit(kinit.path!, ['bob'], 'Passw0rd!\n')).out).toContain(
      "Client's credentials have been revoked",
    )
    expect((await mit(kinit.path!, ['carol'], 'Passw0rd!\n')).out).toContain('Password has expired')
    expect(summaries(t).join('\n')).toMatch(
      /KDC_ERR_PREAUTH_FAILED[\s\S]*KDC_ERR_C_PRINCIPAL_UNKNOWN[\s\S]*KDC_ERR_CLIENT_REVOKED[\s\S]*KDC_ERR_KEY_EXPIRED/,
    )
  })

  it('gives an RC4-only client RC4-HMAC, and KDC_ERR_ETYPE_NOSUPP when the lab offers AES only', async () => {
    await using t = await startTestLab(SCENARIO)
    const rc4 = client(t, '  allow_weak_crypto = true\n  permitted_enctypes = rc4-hmac\n')
    expect((await rc4(kinit.path!, ['alice'], 'Passw0rd!\n')).code).toBe(0)
    expect((await rc4(klist.path!, ['-e'])).out).toContain('DEPRECATED:arcfour-hmac')
    await using aesOnly = await startTestLab(
      `${SCENARIO}servers:\n  kerberos: { etypes: [aes256-cts-hmac-sha1-96] }\n`,
    )
    const refused = await client(aesOnly, '  allow_weak_crypto = true\n  permitted_enctypes = rc4-hmac\n')(
      kinit.path!,
      ['alice'],
      'Passw0rd!\n',
    )
    expect(refused.out).toContain('KDC has no support for encryption type')
  })

  it('answers over TCP, and a clock more than 5 minutes off with KRB_AP_ERR_SKEW (client kdc_timesync = 0)', async () => {
    await using t = await startTestLab(SCENARIO)
    expect(
      (await client(t, '  udp_preference_limit = 1\n')(kinit.path!, ['alice'], 'Passw0rd!\n')).code,
    ).toBe(0)
    expect(t.lab.journal.query({ server: 'kerberos' }).map((e) => e.peer?.transport)).toEqual([
      'tcp',
      'tcp',
      'tcp',
      'tcp',
    ])
    await using ahead = await startTestLab(SCENARIO, { clock: manualClock(Date.now() + 10 * 60_000) })
    const r = await client(ahead, '  kdc_timesync = 0\n')(kinit.path!, ['alice'], 'Passw0rd!\n')
    expect(r.out).toContain('Clock skew too great')
    expect(summaries(ahead)).toContainEqual(
      expect.stringMatching(/^AS-ERROR KRB_AP_ERR_SKEW alice@CONTOSO.TEST .* -60\d s off/),
    )
  })

  it('survives random and mutated datagrams on its port, and still gives kinit a ticket', async () => {
    await using t = await startTestLab(SCENARIO)
    const socket = createSocket('udp4')
    const seed = Buffer.from(
      '6a81c03081bda103020105a20302010aa31a3018300aa10402020096a2020400300aa10402020095a2020400a48194308191a00703050000000010a1123010a003020101a10930071b05616c696365a2131b11434f52502e434f4e544f534f2e54455354a3263024a003020102a11d301b1b066b72627467741b11434f52502e434f4e544f534f2e54455354a511180f32303236313133303033343035315aa70602045c58590ba81a301802011202011102011402011302011002011702011902011a',
      'hex',
    )
    const inputs = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { minLength: 1, maxLength: 5 }).map((m) => {
          const b = Buffer.from(seed)
          for (const [at, v] of m) b[at % b.length] = v
          return b
        }),
      ),
      { numRuns: 500, seed: 88 },
    )
    for (const b of inputs) socket.send(b, t.port('kerberos'), '127.0.0.1')
    await new Promise((r) => setTimeout(r, 200))
    socket.close()
    expect(t.lab.journal.query({ kind: 'kerberos:failed' })).toEqual([])
    expect((await client(t)(kinit.path!, ['alice'], 'Passw0rd!\n')).code).toBe(0)
  })
})

const curl = tool('curl', 'curl')
const gssapi = pythonModule('gssapi', 'python3-gssapi')

describe.skipIf(skip ?? curl.skip ?? gssapi.skip)('Kerberos to IIS: Negotiate on /certsrv', () => {
  const CERTSRV = '/certsrv/certnew.p7b?ReqID=CACert&Renewal=-1&Enc=b64'

  it('curl --negotiate fetches the chain with a ticket for HTTP/<CA host> (certsrv.kerberos: accept)', async () => {
    await using t = await startTestLab(`${SCENARIO}servers:\n  http: { certsrv: { kerberos: accept } }\n`)
    const mit = client(t)
    expect((await mit(kinit.path!, ['alice'], 'Passw0rd!\n')).code).toBe(0)
    const port = t.port('http')
    const r = await mit(curl.path!, [
      '-s',
      '--negotiate',
      '-u',
      ':',
      '--resolve',
      `dc1.contoso.test:${port}:127.0.0.1`,
      `http://dc1.contoso.test:${port}${CERTSRV}`,
    ])
    expect(r.out).toContain('-----BEGIN CERTIFICATE-----')
    const last = t.lab.journal.query({ kind: 'http:request' }).at(-1)
    expect(last?.summary).toContain('→ 200')
    expect(last?.detail.auth).toBe('Kerberos as alice@CONTOSO.TEST, mutual (AP-REP sent)')
    expect(last?.detail.user).toBe('alice@contoso.test')
  })

  /** python-gssapi on one connection: each step a fresh context (a new authenticator), the reply token checked. */
  const PYTHON = `
import base64, http.client, sys, gssapi
host, port, path, tries = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
conn = http.client.HTTPConnection('127.0.0.1', port)
name = gssapi.Name('HTTP@' + host, gssapi.NameType.hostbased_service)
for attempt in range(tries):
    ctx = gssapi.SecurityContext(name=name, usage='initiate', flags=gssapi.RequirementFlag.mutual_authentication)
    token = ctx.step()
    conn.request('GET', path, headers={'Host': host, 'Authorization': 'Negotiate ' + base64.b64encode(token).decode()})
    r = conn.getresponse(); r.read()
    print('status', r.status)
    if r.status == 200:
        reply = r.getheader('WWW-Authenticate').split(' ', 1)[1]
        ctx.step(base64.b64decode(reply))
        print('mutual', ctx.complete)
        break
`

  const REPLAY = `
import base64, http.client, sys, gssapi
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
name = gssapi.Name('HTTP@' + host, gssapi.NameType.hostbased_service)
token = gssapi.SecurityContext(name=name, usage='initiate').step()
for attempt in range(2):
    conn = http.client.HTTPConnection('127.0.0.1', port)
    conn.request('GET', path, headers={'Host': host, 'Authorization': 'Negotiate ' + base64.b64encode(token).decode()})
    r = conn.getresponse(); r.read(); conn.close()
    print('status', r.status)
`

  it('refuses the first good ticket on a connection and takes the retry, whose AP-REP python-gssapi verifies', async () => {
    await using t = await startTestLab(SCENARIO)
    const mit = client(t)
    expect((await mit(kinit.path!, ['alice'], 'Passw0rd!\n')).code).toBe(0)
    const r = await mit(gssapi.path!, [
      '-c',
      PYTHON,
      'dc1.contoso.test',
      String(t.port('http')),
      CERTSRV,
      '2',
    ])
    expect(r.out.trim().split('\n')).toEqual(['status 401', 'status 200', 'mutual True'])
    const answers = t.lab.journal.query({ kind: 'http:request' }).map((e) => e.summary)
    expect(answers.at(-2)).toContain('refused once (kerberos: retry')
    expect(answers.at(-1)).toContain('→ 200')
  })

  it('refuses a ticket for another host and a replayed authenticator', async () => {
    await using t = await startTestLab(`${SCENARIO}servers:\n  http: { certsrv: { kerberos: accept } }\n`)
    const mit = client(t)
    expect((await mit(kinit.path!, ['alice'], 'Passw0rd!\n')).code).toBe(0)
    // A ticket for the pool's HTTP/ sent to the CA's site: IIS on the CA cannot open it.
    const other = await mit(gssapi.path!, [
      '-c',
      PYTHON.replace("{'Host': host,", "{'Host': 'dc1.contoso.test',"),
      'ocspool.contoso.test',
      String(t.port('http')),
      CERTSRV,
      '1',
    ])
    expect(other.out).toContain('status 401')
    expect(t.lab.journal.query({ kind: 'http:request' }).at(-1)?.summary).toContain('KRB_AP_ERR_MODIFIED')
    // The same authenticator twice, on two connections: the second is a replay.
    const replay = await mit(gssapi.path!, [
      '-c',
      REPLAY,
      'dc1.contoso.test',
      String(t.port('http')),
      CERTSRV,
    ])
    expect(replay.out.trim().split('\n')).toEqual(['status 200', 'status 401'])
    expect(t.lab.journal.query({ kind: 'http:request' }).at(-1)?.summary).toContain('KRB_AP_ERR_REPEAT')
  })
})

const ldap3 = pythonModule('ldap3', 'python3-ldap3')

describe.skipIf(skip ?? ldap3.skip ?? gssapi.skip)('Kerberos to the DC: SASL binds to LDAP', () => {
  /** ldap3's SASL GSSAPI (RFC 4752: the AP-REQ, then the security layer in Wrap tokens), no layer wanted. */
  const GSSAPI = `
import sys, ldap3
from ldap3 import Server, Connection, SASL, KERBEROS
port, host = int(sys.argv[1]), sys.argv[2]
c = Connection(Server('127.0.0.1', port=port), authentication=SASL, sasl_mechanism=KERBEROS, sasl_credentials=(host,))
print('bind', c.bind())
c.search('CN=Configuration,DC=contoso,DC=test', '(objectCategory=certificationAuthority)', attributes=['cACertificate'])
print('cas', len(c.entries))
`

  it('binds with GSSAPI as the ticket’s user and reads the CA objects', async () => {
    await using t = await startTestLab(SCENARIO)
    const mit = client(t)
    expect((await mit(kinit.path!, ['alice'], 'Passw0rd!\n')).code).toBe(0)
    const r = await mit(ldap3.path!, ['-c', GSSAPI, String(t.port('ldap')), 'dc1.contoso.test'])
    expect(r.out.trim().split('\n'), r.out).toEqual(['bind True', 'cas 3'])
    const binds = t.lab.journal.query({ kind: 'ldap:bind' }).map((e) => e.summary)
    expect(binds).toEqual([
      expect.stringMatching(/SASL bind GSSAPI → saslBindInProgress: Kerberos as alice@CONTOSO.TEST/),
      expect.stringMatching(/SASL bind GSSAPI → saslBindInProgress: security layers offered/),
      expect.stringMatching(/SASL bind GSSAPI → success: GSSAPI as alice@CONTOSO.TEST, no security layer/),
    ])
  })

  it('takes a ticket for any SPN of the DC’s account (ldap/dc1 too, as AD does); a host without ldap/ has no ticket', async () => {
    await using t = await startTestLab(SCENARIO)
    const mit = client(t)
    expect((await mit(kinit.path!, ['alice'], 'Passw0rd!\n')).code).toBe(0)
    expect((await mit(ldap3.path!, ['-c', GSSAPI, String(t.port('ldap')), 'dc1'])).out).toContain('bind True')
    // ldap/ocspool…: no such SPN in the realm, so the KDC gives no ticket and the bind never happens.
    expect(
      (await mit(ldap3.path!, ['-c', GSSAPI, String(t.port('ldap')), 'ocspool.contoso.test'])).out,
    ).not.toContain('bind True')
    expect(summaries(t)).toContainEqual(
      expect.stringMatching(
        /^TGS-ERROR KDC_ERR_S_PRINCIPAL_UNKNOWN alice@CONTOSO.TEST for ldap\/ocspool.contoso.test/,
      ),
    )
  })
})

describe.skipIf(skip ?? gssapi.skip)('Kerberos to the pool: a REGISTER with an MIT ticket', () => {
  const TOKEN = `
import base64, gssapi
name = gssapi.Name('sip@ocspool.contoso.test', gssapi.NameType.hostbased_service)
print(base64.b64encode(gssapi.SecurityContext(name=name, usage='initiate').step()).decode())
`

  it('registers in one leg on sip/<pool>’s ticket, and refuses the same token again (a replay)', async () => {
    await using t = await startTestLab(SCENARIO)
    const mit = client(t)
    expect((await mit(kinit.path!, ['alice'], 'Passw0rd!\n')).code).toBe(0)
    const token = (await mit(gssapi.path!, ['-c', TOKEN])).out.trim()
    await using sip = await SipTestClient.tls(t)
    const header = `Authorization: Kerberos qop="auth", realm="SIP Communications Service", targetname="sip/ocspool.contoso.test", gssapi-data="${token}", version=3`
    const ok = await sip.request('REGISTER', 'alice@contoso.test', [header])
    expect(ok.status).toBe(200)
    const requests = t.lab.journal.query({ kind: 'sip:request' }).map((e) => e.summary)
    expect(requests.at(-1)).toContain('Kerberos as alice@CONTOSO.TEST')
    // The same token again is a replay.
    expect((await sip.request('REGISTER', 'alice@contoso.test', [header])).status).toBe(401)
  })
})
