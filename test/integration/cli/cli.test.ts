import { createSocket } from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LabClient } from '../../../lab/client/index.js'
import type { JournalEvent } from '../../../core/journal/journal.js'
import { MINIMAL_SCENARIO } from '../../helpers/lab.js'
import { clientRequest, ntpClient } from '../../helpers/ntp-client.js'
import { runCli, spawnLab } from '../../helpers/process.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'cx700-cli-'))
  dirs.push(d)
  return d
}
/** A lab of the test's own: ephemeral ports, admin API on an ephemeral loopback port, state in `dir`. */
const ephemeral = (dir: string): string[] => [
  '--ports',
  'ephemeral',
  '--admin',
  '127.0.0.1:0',
  '--state',
  join(dir, 'state'),
]
const ntpPort = (ready: { endpoints: readonly { server: string; port: number }[] }): number =>
  ready.endpoints.find((e) => e.server === 'ntp')!.port

function bindUdp(port: number): Promise<void> {
  const s = createSocket('udp4')
  return new Promise((resolve, reject) => {
    s.once('error', reject)
    s.bind(port, '127.0.0.1', () => s.close(() => resolve()))
  })
}
function bindTcp(port: number): Promise<void> {
  const s = createServer()
  return new Promise((resolve, reject) => {
    s.once('error', reject)
    s.listen(port, '127.0.0.1', () => s.close(() => resolve()))
  })
}

/** A lab that keeps its state in `d` and its admin API on an ephemeral loopback port, as JSON. */
const upOptions = (d: string): string[] => ['--json', '--state', join(d, 'state'), '--admin', '127.0.0.1:0']

// Each test runs the CLI as a process a dozen times (a second or more each on a loaded 2-core CI machine).
describe('cx700-lab CLI', { timeout: 60_000 }, () => {
  it('validate: exit 0 for good files, 1 with every problem for bad ones, 2 for bad usage', async () => {
    const d = tmp()
    writeFileSync(join(d, 'good.yaml'), MINIMAL_SCENARIO)
    writeFileSync(
      join(d, 'bad.yaml'),
      MINIMAL_SCENARIO.replace('sipDomain: contoso.test', 'sipDomain: contoso.test\n  sipDomian: x') +
        'seed: -1\n',
    )
    expect((await runCli(['validate', join(d, 'good.yaml')])).code).toBe(0)
    const bad = await runCli(['validate', join(d, 'good.yaml'), join(d, 'bad.yaml')])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain(
      `${join(d, 'bad.yaml')}:5:3  /site/sipDomian  unknown field "sipDomian" (did you mean "sipDomain"?)`,
    )
    expect(bad.stdout).toContain(`${join(d, 'bad.yaml')}:9:7  /seed  must be >= 0`)
    expect(bad.stdout).not.toMatch(/at .*\.js:\d+/) // no stack trace
    expect((await runCli(['validate'])).code).toBe(2)
    expect((await runCli(['up', '--mode', 'sideways'])).code).toBe(2)
    expect((await runCli(['frobnicate'])).code).toBe(2)
    expect((await runCli(['--help'])).stdout).toContain('Commands:')
    expect((await runCli(['fault', '--help'])).stdout).toContain('fault add --server ntp')
  })

  it('up refuses an invalid scenario before binding anything', async () => {
    const d = tmp()
    writeFileSync(
      join(d, 'bad.yaml'),
      MINIMAL_SCENARIO + 'servers:\n  ntp:\n    listen: { port: 0 }\n    leap: maybe\n',
    )
    const r = await runCli(['up', join(d, 'bad.yaml'), ...upOptions(d)])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('/servers/ntp/leap  must be one of')
    expect(r.stdout).not.toContain('"event":"ready"')
  })

  it('train refuses an exercise pack with a problem, naming its file and line, before binding anything', async () => {
    const d = tmp()
    writeFileSync(
      join(d, 'pack.yaml'),
      'version: 1\nname: p\nexercises:\n  - id: x\n    title: X\n    question: Q?\n    choices: [A, B]\n    answer: Z\n' +
        '    notes: n\n    faults:\n      - { fault: { kind: drop } }\n',
    )
    const r = await runCli(['train', join(d, 'pack.yaml'), ...upOptions(d)])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Failed to load exercise pack: 1 problem')
    expect(r.stderr).toMatch(/pack\.yaml:8:\d+.*"Z" is not one of the choices/)
    expect(r.stdout).not.toContain('"event":"ready"')
  })

  it('loses no acknowledged event when SIGKILLed: every answer seen is in journal.jsonl', async () => {
    const d = tmp()
    const lab = await spawnLab(ephemeral(d))
    await using _ = lab
    await using c = await ntpClient(ntpPort(lab.ready))
    const seen: bigint[] = []
    for (let i = 0; i < 50; i++) seen.push((await c.ask(clientRequest(4, Date.now() + i))).transmitTimestamp)
    const fault = await new LabClient(lab.ready.adminUrl).addFault({
      match: { server: 'ntp' },
      fault: { kind: 'drop' },
      probability: 0,
    })
    lab.child.kill('SIGKILL')
    expect(await lab.exited).toBe('SIGKILL')
    const events = readFileSync(lab.ready.journal, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as JournalEvent)
    const journaled = new Set(
      events.filter((e) => e.kind === 'ntp:response').map((e) => e.detail.transmitTimestamp),
    )
    expect(seen.every((ts) => journaled.has(ts.toString(16)))).toBe(true)
    expect(events.some((e) => e.kind === 'fault:added' && e.detail.id === fault.id)).toBe(true)
  })

  it('after SIGTERM it exits 0 and every port it held can be bound again at once', async () => {
    const d = tmp()
    const lab = await spawnLab(ephemeral(d))
    await using _ = lab
    const udp = ntpPort(lab.ready)
    const tcp = Number(new URL(lab.ready.adminUrl).port)
    // An open follower must not hold the shutdown up.
    const abort = new AbortController()
    let followed = 0
    const following = new LabClient(lab.ready.adminUrl)
      .followJournal({}, () => followed++, abort.signal)
      .catch(() => undefined) // the lab going away ends the stream
    await expect.poll(() => followed).toBeGreaterThan(0)
    lab.child.kill('SIGTERM')
    expect(await lab.exited).toBe(0)
    await following
    await expect(bindUdp(udp)).resolves.toBeUndefined()
    await expect(bindTcp(tcp)).resolves.toBeUndefined()
    const journal = readFileSync(lab.ready.journal, 'utf8')
    expect(journal).toContain('"kind":"lab:stopped"')
  })

  it('--watch reloads a changed file, and a bad edit keeps the old scenario serving', async () => {
    const d = tmp()
    const file = join(d, 'watched.yaml')
    writeFileSync(file, MINIMAL_SCENARIO)
    const lab = await spawnLab([file, '--watch', ...ephemeral(d)])
    await using _ = lab
    const client = new LabClient(lab.ready.adminUrl)
    await using c = await ntpClient(ntpPort(lab.ready))

    writeFileSync(file, MINIMAL_SCENARIO + 'servers:\n  ntp:\n    stratum: 99\n')
    await expect.poll(() => lab.stderr(), { timeout: 10_000 }).toContain('reload refused')
    expect(lab.stderr()).toContain('/servers/ntp/stratum  must be <= 15')
    expect((await c.ask()).stratum).toBe(2)

    writeFileSync(
      file,
      MINIMAL_SCENARIO.replace('name: test', 'name: edited') + 'servers:\n  ntp:\n    stratum: 7\n',
    )
    await expect.poll(async () => (await client.health()).scenario, { timeout: 10_000 }).toBe('edited')
    expect((await c.ask()).stratum).toBe(7)
  })

  it('fault, journal and endpoints commands talk to the running lab', async () => {
    const d = tmp()
    const lab = await spawnLab(ephemeral(d))
    await using _ = lab
    const admin = ['--admin', lab.ready.adminUrl]
    const add = await runCli([
      'fault',
      'add',
      '--server',
      'ntp',
      '--kind',
      'answer',
      '--set',
      'stratum=9',
      '--times',
      '1',
      ...admin,
    ])
    expect(add.stdout).toMatch(/added fault r\d+/)
    // The list says when a rule applies (issue 36: it showed neither probability, times nor match fields).
    expect((await runCli(['fault', 'list', ...admin])).stdout).toMatch(
      /r\d+\s+runtime\s+ntp\s+\{.*\}\s+1×\s+0\s+0/,
    )
    const badAdd = await runCli([
      'fault',
      'add',
      '--server',
      'ntp',
      '--kind',
      'error',
      '--code',
      'NOPE',
      ...admin,
    ])
    expect(badAdd.code).toBe(1)
    expect(badAdd.stderr).toContain('/fault/code')
    await using c = await ntpClient(ntpPort(lab.ready))
    expect((await c.ask()).stratum).toBe(9)
    const j = await runCli(['journal', '--server', 'ntp', '--json', ...admin])
    expect(
      j.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as JournalEvent).kind),
    ).toEqual(['ntp:request', 'fault:applied', 'ntp:response'])
    const e = await runCli(['endpoints', ...admin])
    expect(e.stdout).toMatch(/ntp\s+udp\s+127\.0\.0\.1\s+\d+\s+123\s+time\.contoso\.test/)
    expect(
      (await runCli(['journal', '--file', lab.ready.journal, '--kind', 'lab:started'])).stdout,
    ).toContain('lab:started')
    expect((await runCli(['fault', 'clear', ...admin])).stdout).toContain('cleared 1')
  })

  it('journal --file reads a journal whose last line a crash or a full disk tore, and says so', async () => {
    const torn = join(tmp(), 'torn.jsonl')
    const line = (seq: number, kind: string): string =>
      JSON.stringify({
        seq,
        time: '2007-01-01T00:00:00.000Z',
        server: 'lab',
        kind,
        summary: kind,
        detail: {},
      })
    writeFileSync(torn, `${line(1, 'lab:started')}\n${line(2, 'lab:clock')}\n{"seq":3,"time":"20`)
    const read = await runCli(['journal', '--file', torn, '--kind', 'lab:started'])
    expect(read).toMatchObject({ code: 0, stdout: expect.stringContaining('lab:started') })
    expect(read.stderr).toContain('1 line(s) that are not journal events skipped')
  })

  it('dns add, remove, list, undo and reset change what the running lab serves', async () => {
    const d = tmp()
    const lab = await spawnLab(ephemeral(d))
    await using _ = lab
    const admin = ['--admin', lab.ready.adminUrl]
    const add = await runCli([
      'dns',
      'add',
      '_sip._tls.contoso.test',
      'srv',
      '0 0 443 ocspool.contoso.test',
      ...admin,
    ])
    expect(add.stdout).toBe('d1  added _sip._tls.contoso.test SRV 0 0 443 ocspool.contoso.test\n')
    expect((await runCli(['dns', 'remove', 'sip.contoso.test', 'a', ...admin])).stdout).toMatch(
      /^d2 {2}removed/,
    )
    const list = (await runCli(['dns', 'list', ...admin])).stdout
    expect(list).toMatch(/_sip\._tls\.contoso\.test\s+300\s+SRV\s+0 0 443 ocspool\.contoso\.test\./)
    expect(list).not.toMatch(/^sip\.contoso\.test\s/m)
    expect(list).toContain('d2  remove sip.contoso.test A')
    expect((await runCli(['dns', 'undo', 'd2', ...admin])).code).toBe(0)
    expect((await runCli(['dns', 'reset', ...admin])).stdout).toBe('1 change(s) undone\n')
    const bad = await runCli(['dns', 'add', 'x.contoso.test', 'A', 'not-an-ip', ...admin])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('"not-an-ip" is not an IPv4 address')
    expect((await runCli(['dns', 'add', 'x.contoso.test', 'WKS', '1', ...admin])).code).toBe(2)
  })
})
