import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ScenarioError, formatProblem } from '../../core/errors.js'
import { defaultScenarioPath, packageRoot } from '../paths.js'
import { loadScenario, mergeScenario } from './load.js'
import { ScenarioSchema } from './schema.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function files(entries: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'cx700-scenario-'))
  dirs.push(d)
  for (const [name, text] of Object.entries(entries)) writeFileSync(join(d, name), text)
  return d
}
function problemsOf(fn: () => unknown): string[] {
  try {
    fn()
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems.map(formatProblem)
    throw e
  }
  throw new Error('expected a ScenarioError')
}

const MINIMAL = `version: 1
name: minimal
site:
  sipDomain: fabrikam.test
users:
  - signInAddress: jens@fabrikam.test
    password: secret
`

describe('loadScenario', () => {
  it('derives every default from the site, so a minimal scenario is complete', () => {
    const dir = files({ 'm.yaml': MINIMAL })
    const s = loadScenario(join(dir, 'm.yaml'))
    expect(s.site).toEqual({
      sipDomain: 'fabrikam.test',
      smtpDomain: 'fabrikam.test',
      adDomain: 'fabrikam.test',
      netbiosName: 'FABRIKAM',
      dhcpDomain: 'fabrikam.test',
      searchList: ['fabrikam.test'],
      subnet: '10.50.0.0/24',
      labAddress: '10.50.0.1',
    })
    expect(s.users[0]).toMatchObject({
      userName: 'FABRIKAM\\jens',
      email: 'jens@fabrikam.test',
      umEnabled: true,
      displayName: 'Jens',
    })
    expect(s.hosts.map((h) => `${h.name}:${h.roles.join('+')}`)).toEqual([
      'dc1.fabrikam.test:dc+ca',
      'ocspool.fabrikam.test:pool+dus+abs',
      'mail.fabrikam.test:exchange',
      'time.fabrikam.test:ntp',
    ])
    expect(s.network).toEqual({ mode: 'loopback', address: '127.0.0.1', portBase: 10000 })
    expect(s.servers.ntp).toMatchObject({
      enabled: true,
      offset: '0s',
      stratum: 2,
      leap: 'none',
      silent: false,
    })
    expect(s.pki).toEqual({
      hash: 'sha1',
      keySize: 2048,
      generation: 1,
      intermediate: false,
      leaf: {},
      hosts: {},
    })
    expect(s.seed).toBe(1)
  })

  it('returns a deep-frozen scenario', () => {
    const dir = files({ 'm.yaml': MINIMAL })
    const s = loadScenario(join(dir, 'm.yaml'))
    expect(Object.isFrozen(s)).toBe(true)
    expect(Object.isFrozen(s.servers.ntp)).toBe(true)
    expect(Object.isFrozen(s.users[0])).toBe(true)
  })

  it('reports every problem at once, each with file:line:col, the field path and a hint', () => {
    const dir = files({
      'bad.yaml': `version: 1
name: Bad_Name
site:
  sipDomain: "not a domain"
  subnett: 10.0.0.0/8
users:
  - signInAddress: alice@contoso.test
    pasword: x
servers:
  ntp:
    offset: 3 years
    leap: maybe
faults:
  - match: { server: ntp }
    fault: { kind: explode }
  - match: { server: dhcpd }
    fault: { kind: drop }
  - match: { server: ntp }
    fault: { kind: error, code: SERVFAIL }
`,
    })
    const f = join(dir, 'bad.yaml')
    expect(problemsOf(() => loadScenario(f))).toEqual([
      `${f}:2:7  /name  must be kebab-case, e.g. ntp-three-years-ahead`,
      `${f}:4:14  /site/sipDomain  must be a DNS name such as contoso.test`,
      `${f}:5:3  /site/subnett  unknown field "subnett" (did you mean "subnet"?)`,
      `${f}:7:5  /users/0  missing required field "password"`,
      `${f}:8:5  /users/0/pasword  unknown field "pasword" (did you mean "password"?)`,
      `${f}:11:13  /servers/ntp/offset  must be a duration such as 250ms, 90s, -5m, +3y or 1h30m, of at most 1000 years`,
      `${f}:12:11  /servers/ntp/leap  must be one of: none, insert, delete, unsynchronised`,
      `${f}:15:20  /faults/0/fault/kind  unknown kind "explode" (one of: drop, delay, reset, garbage, corrupt, truncate, error, answer)`,
      `${f}:16:22  /faults/1/match/server  unknown server "dhcpd" (known: dhcp, dns, ntp, netbios, kerberos, ldap, http, sip)`,
      `${f}:19:33  /faults/2/fault/code  "SERVFAIL" is not a ntp error (use one of: RATE, DENY, RSTR)`,
    ])
  })

  it('reports YAML syntax errors and duplicate keys with their positions', () => {
    const dir = files({
      'y.yaml': 'name: a\nname: b\nsite: [\n',
      'd.yaml': 'version: 1\nname: x\nname: y\nsite: { sipDomain: a.test }\n',
    })
    const syntax = problemsOf(() => loadScenario(join(dir, 'y.yaml')))
    expect(syntax.length).toBeGreaterThan(0)
    expect(syntax.every((p) => /y\.yaml:\d+:\d+ {2}\/ {2}YAML: /.test(p))).toBe(true)
    expect(problemsOf(() => loadScenario(join(dir, 'd.yaml')))).toEqual([
      expect.stringMatching(/d\.yaml:3:1 {2}\/ {2}YAML: Map keys must be unique/),
    ])
  })

  it('says when the file cannot be read or is not a mapping', () => {
    const dir = files({ 'list.yaml': '- a\n- b\n' })
    expect(problemsOf(() => loadScenario(join(dir, 'nope.yaml')))).toEqual([
      `${join(dir, 'nope.yaml')}:1:1  /  cannot read the file: no such file`,
    ])
    expect(problemsOf(() => loadScenario(join(dir, 'list.yaml')))[0]).toMatch(/must be a YAML mapping/)
  })

  it('extends another scenario: objects merge, the child wins, and problems point into the file that has them', () => {
    const dir = files({
      'base.yaml':
        MINIMAL.replace('name: minimal', 'name: base') +
        'servers:\n  ntp:\n    stratum: 3\n    leap: sideways\n',
      'child.yaml': 'extends: base.yaml\nname: child\nservers:\n  ntp:\n    offset: +3y\n',
      'ok-base.yaml': MINIMAL + 'servers:\n  ntp:\n    stratum: 3\n',
      'ok-child.yaml': 'extends: ok-base.yaml\nname: ok-child\nservers:\n  ntp:\n    offset: +3y\n',
    })
    const s = loadScenario(join(dir, 'ok-child.yaml'))
    expect(s.name).toBe('ok-child')
    expect(s.servers.ntp).toMatchObject({ offset: '+3y', stratum: 3 })
    expect(s.users).toHaveLength(1)
    expect(s.files).toEqual([join(dir, 'ok-child.yaml'), join(dir, 'ok-base.yaml')])
    expect(problemsOf(() => loadScenario(join(dir, 'child.yaml')))).toEqual([
      `${join(dir, 'base.yaml')}:11:11  /servers/ntp/leap  must be one of: none, insert, delete, unsynchronised`,
    ])
  })

  it('refuses an extends cycle and a missing parent', () => {
    const dir = files({
      'a.yaml': 'extends: b.yaml\nname: a\n',
      'b.yaml': 'extends: a.yaml\nname: b\n',
      'c.yaml': 'extends: gone.yaml\nname: c\n',
    })
    expect(problemsOf(() => loadScenario(join(dir, 'a.yaml')))).toEqual([
      expect.stringMatching(/b\.yaml:1:10 {2}\/extends {2}extends itself through/),
    ])
    expect(problemsOf(() => loadScenario(join(dir, 'c.yaml')))).toEqual([
      expect.stringMatching(/c\.yaml:1:10 {2}\/extends {2}cannot read gone\.yaml/),
    ])
  })

  it('cross-checks what the schema alone cannot: duplicates, disabled targets, interface mode', () => {
    const dir = files({
      'x.yaml': `version: 1
name: x
network: { mode: interface }
site: { sipDomain: a.test }
users:
  - { signInAddress: u@a.test, password: p }
  - { signInAddress: U@a.test, password: p }
hosts:
  - { name: dc.a.test, roles: [dc] }
  - { name: dc.a.test, roles: [ca] }
servers:
  ntp: { enabled: false }
faults:
  - { id: f, match: { server: ntp }, fault: { kind: drop } }
  - { id: f, fault: { kind: drop } }
`,
    })
    const got = problemsOf(() => loadScenario(join(dir, 'x.yaml'))).map((p) => p.replace(/^.*x\.yaml:/, ''))
    expect(got).toEqual([
      '3:10  /network  interface mode needs network.interface (the NIC the phones are on)',
      '7:22  /users/1/signInAddress  duplicate of /users/0',
      '10:13  /hosts/1/name  duplicate of /hosts/0',
      '14:31  /faults/0/match/server  server "ntp" is disabled in this scenario',
      '15:11  /faults/1/id  duplicate fault id "f"',
    ])
  })

  it('resolves voice-mail audio files against the file that names them, and reports bad ones with the rest', () => {
    const wav = Buffer.alloc(44)
    wav.write('RIFF', 0, 'latin1')
    wav.write('WAVE', 8, 'latin1')
    const d = files({
      'base.yaml': `${MINIMAL}  - signInAddress: carol@contoso.test
    password: pw
    mailbox:
      voicemail:
        - { from: Bob, audio: audio/hello.wav }
`,
      'child.yaml': 'version: 1\nname: child\nextends: base.yaml\n',
      'bad.yaml': `${MINIMAL}  - signInAddress: carol@contoso.test
    password: pw
    mailbox:
      voicemail:
        - { from: Bob, audio: missing.wav }
        - { from: Eve, audio: not-audio.txt }
        - { from: Dan, at: yesterday }
`,
      'not-audio.txt': 'hello',
    })
    mkdirSync(join(d, 'audio'))
    writeFileSync(join(d, 'audio', 'hello.wav'), wav)
    const child = loadScenario(join(d, 'child.yaml'))
    expect(child.users[1]!.mailbox.voicemail[0]!.audio).toBe(join(d, 'audio', 'hello.wav'))
    const problems = problemsOf(() => loadScenario(join(d, 'bad.yaml')))
    expect(problems).toEqual([
      expect.stringMatching(
        /bad\.yaml:\d+:\d+ {2}\/users\/1\/mailbox\/voicemail\/0\/audio {2}.*missing\.wav cannot be read \(ENOENT\)/,
      ),
      expect.stringMatching(/voicemail\/1\/audio {2}.*not-audio\.txt is not a WAV file/),
      expect.stringMatching(/voicemail\/2\/at {2}.*ISO 8601/),
    ])
  })

  it('loads scenario text posted to the admin API, resolving extends against a folder', () => {
    const dir = files({ 'base.yaml': MINIMAL })
    const s = loadScenario('<admin>', 'extends: base.yaml\nname: posted\n', dir)
    expect(s.name).toBe('posted')
    expect(problemsOf(() => loadScenario('<admin>', 'name: [', dir))[0]).toMatch(/<admin>:1:\d+/)
  })
})

describe('mergeScenario', () => {
  it('merges objects recursively and replaces arrays and scalars', () => {
    expect(mergeScenario({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 })).toEqual({
      a: { b: 1, c: [3] },
      d: 1,
      e: 2,
    })
  })

  it('lets a child scenario’s expect replace its parent’s whole (a story’s expectations are its own)', () => {
    const parent = {
      expect: { endState: 'signed-in', journal: [{ some: { server: 'sip' } }] },
      servers: { dns: { ttl: 1 } },
    }
    const child = { expect: { endState: 'dc-not-found' }, servers: { dns: { enabled: true } } }
    expect(mergeScenario(parent, child)).toEqual({
      expect: { endState: 'dc-not-found' },
      servers: { dns: { ttl: 1, enabled: true } },
    })
  })
})

describe('scenario files shipped', () => {
  it('checks that the phone block names users of the scenario, at their file:line', () => {
    const dir = files({
      'p.yaml': `${MINIMAL}phone:\n  user: nobody@fabrikam.test\n  usedBefore: ghost@fabrikam.test\n  mac: 00:04:f2:zz:00:01\n`,
    })
    const f = join(dir, 'p.yaml')
    expect(problemsOf(() => loadScenario(f))).toEqual([
      `${f}:9:9  /phone/user  "nobody@fabrikam.test" is not the sign-in address of a user of this scenario (/users)`,
      `${f}:10:15  /phone/usedBefore  "ghost@fabrikam.test" is not the sign-in address of a user of this scenario (/users)`,
      expect.stringMatching(new RegExp(`^${f}:11:8  /phone/mac  `)),
    ])
  })

  it('the embedded default scenario loads', () => {
    expect(loadScenario(defaultScenarioPath()).name).toBe('default')
  })

  it('scenarios/schema.json is the schema the code validates with (regenerate with npm run schema)', () => {
    const onDisk = JSON.parse(
      readFileSync(join(packageRoot(), 'scenarios', 'schema.json'), 'utf8'),
    ) as unknown
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(ScenarioSchema)))
  })
})
