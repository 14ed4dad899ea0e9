import { basename, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { manualClock } from '../../core/clock.js'
import { ScenarioError } from '../../core/errors.js'
import { FaultEngine } from '../../core/faults/engine.js'
import { Journal } from '../../core/journal/journal.js'
import { seededRandom } from '../../core/random.js'
import { SERVER_FAULTS } from '../../servers/index.js'
import { packageRoot } from '../paths.js'
import { loadPack } from './pack.js'
import { TrainingSession, type StoryRunner, type Trainee } from './session.js'
import type { SessionSnapshot, SessionStore } from './store.js'

const FIRST_DAY = join(packageRoot(), 'scenarios', 'training', 'first-day.yaml')

/** Stories as a lab runs them: f3-wins-dead changes DHCP for every phone, every other stays on one phone. */
function storyRunner(calls: string[] = []): StoryRunner & { readonly calls: string[] } {
  const name = (file?: string): string => (file === undefined ? 'its own' : basename(file, '.yaml'))
  return {
    calls,
    plan: (file) => ({
      servers: [],
      faults: [],
      labWide: file.includes('f3-wins-dead') ? ['servers.dhcp'] : [],
    }),
    confine: (mac, file) => void calls.push(`${mac} meets ${name(file)}`),
    labWide: async (file) => void calls.push(`the lab runs ${name(file)}`),
  }
}

function session(now = { ms: 0 }, store?: SessionStore, stories: string[] = []) {
  const journal = new Journal({ clock: manualClock(Date.UTC(2026, 10, 29)) })
  const faults = new FaultEngine({ journal, random: seededRandom(1), servers: SERVER_FAULTS })
  return {
    journal,
    faults,
    s: new TrainingSession(loadPack(FIRST_DAY), {
      faults,
      journal,
      now: () => now.ms,
      stories: storyRunner(stories),
      ...(store ? { store } : {}),
    }),
  }
}

/** A store in memory, as the state folder keeps it (a JSON round trip). */
function memoryStore(): SessionStore & { saved: number } {
  let kept: string | undefined
  return {
    saved: 0,
    load() {
      return kept === undefined ? undefined : (JSON.parse(kept) as SessionSnapshot)
    },
    save(snapshot) {
      kept = JSON.stringify(snapshot)
      this.saved++
    },
  }
}

const peer = { address: '127.64.0.1', port: 5000, transport: 'udp' as const }

describe('exercise packs', () => {
  it('loads the catalogue pack with its defaults', () => {
    const pack = loadPack(FIRST_DAY)
    expect(pack.exercises.map((e) => e.id)).toEqual([
      'dc-srv-missing',
      'dc-refuses',
      'pool-busy',
      'clock-ahead',
    ])
    expect(pack.exercises[0]!.choices).toContain(pack.exercises[0]!.answer)
  })

  it('names every problem at its file:line: an answer not offered, a device in a rule, a server it cannot fault', () => {
    const text = [
      'version: 1',
      'name: broken',
      'exercises:',
      '  - id: one',
      '    title: One',
      '    question: Why?',
      '    choices: [A, B]',
      '    answer: C',
      '    timeLimit: soon',
      '    notes: n',
      '    faults:',
      '      - { match: { server: dns, device: "00:04:f2:00:00:01" }, fault: { kind: drop } }',
      '      - { match: { server: nosuch }, fault: { kind: drop } }',
    ].join('\n')
    let err: unknown
    try {
      loadPack('/tmp/broken.yaml', text)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ScenarioError)
    const problems = (err as ScenarioError).problems.map((p) => `${p.line}: ${p.message}`)
    expect(problems.join('\n')).toMatch(/^8: "C" is not one of the choices/m)
    expect(problems.join('\n')).toMatch(/^9: not a duration/m)
    expect(problems.join('\n')).toMatch(/^12: an exercise’s faults go to the phone it is assigned to/m)
    expect(problems.join('\n')).toMatch(/^13: unknown server "nosuch"/m)
    expect((err as ScenarioError).message).toMatch(/^Failed to load exercise pack: 4 problems/)
  })
})

describe('a training session', () => {
  it('puts an exercise’s faults on the trainee’s phone alone, and takes them off at the answer', async () => {
    const { s, faults, journal } = session()
    const ann = s.addTrainee('Ann', '00-04-F2-00-00-01')
    s.addTrainee('Bob', '00:04:f2:00:00:02')
    journal.devices.learn({ mac: '00:04:f2:00:00:01', ip: '127.64.0.1' })
    journal.devices.learn({ mac: '00:04:f2:00:00:02', ip: '127.64.0.2' })
    const a = await s.assign(ann.id, 'dc-refuses')
    expect(a.faultIds).toEqual(['train-t1-1-1'])
    const ask = (address: string) => faults.decide({ server: 'ldap', peer: { ...peer, address }, fields: {} })
    expect(ask('127.64.0.1')?.fault).toEqual({ kind: 'error', code: 'unavailable' })
    expect(ask('127.64.0.2')).toBeUndefined()
    expect((await s.answer(ann, 'Active Directory (LDAP)')).correct).toBe(true)
    expect(ask('127.64.0.1')).toBeUndefined()
    expect(journal.query({ server: 'training' }).map((e) => e.kind)).toEqual([
      'training:trainee',
      'training:trainee',
      'training:assigned',
      'training:answered',
    ])
  })

  it('draws exercises from the seed, each once before any again; counts hints; marks a late answer', async () => {
    const now = { ms: 0 }
    const { s } = session(now)
    const t = s.addTrainee('Ann', '00:04:f2:00:00:01')
    const drawn: string[] = []
    for (let i = 0; i < 4; i++) drawn.push((await s.assign(t.id)).exercise.id)
    expect(new Set(drawn).size).toBe(4)
    expect(t.attempts.slice(0, 3).every((a) => a.late === true)).toBe(true) // replaced unanswered
    const a = t.attempts[3]!
    expect(s.hint(t)).toBe(a.exercise.hints[0])
    now.ms = 11 * 60_000
    await s.answer(t, a.exercise.choices[0]!)
    expect(s.report(t)[3]).toMatchObject({ hintsUsed: 1, late: true, timeToAnswerMs: 11 * 60_000 })
    // The same seed draws the same exercises for the same class.
    const again = session().s
    const u = again.addTrainee('Ann', '00:04:f2:00:00:01')
    const redrawn: string[] = []
    for (let i = 0; i < 4; i++) redrawn.push((await again.assign(u.id)).exercise.id)
    expect(redrawn).toEqual(drawn)
  })

  it('refuses a second trainee on one phone, a token it never gave, and an answer not offered', async () => {
    const { s } = session()
    const t = s.addTrainee('Ann', '00:04:f2:00:00:01')
    expect(() => s.addTrainee('Bob', '00:04:f2:00:00:01')).toThrow(/already Ann's phone/)
    expect(() => s.addTrainee('Cy', 'not-a-mac')).toThrow(/not a MAC address/)
    expect(s.byToken(t.token)).toBe(t)
    expect(s.byToken(`${t.token.slice(0, -1)}x`)).toBeUndefined()
    await s.assign(t.id, 'pool-busy')
    await expect(s.answer(t, 'Nothing')).rejects.toThrow(/not one of the choices/)
  })

  it('runs each trainee’s story on their phone alone, two stories at once', async () => {
    const journal = new Journal({ clock: manualClock(Date.UTC(2026, 10, 29)) })
    const faults = new FaultEngine({ journal, random: seededRandom(1), servers: SERVER_FAULTS })
    const pack = loadPack(FIRST_DAY)
    const two = {
      ...pack,
      exercises: [...pack.exercises, { ...pack.exercises[3]!, id: 'no-dc', story: 'f4-no-dc-locator' }],
    }
    const runner = storyRunner()
    const s = new TrainingSession(two, { faults, journal, stories: runner })
    const [ann, ben] = ['01', '02'].map((n) => s.addTrainee(n, `00:04:f2:00:00:${n}`)) as [Trainee, Trainee]
    expect(s.scope(two.exercises[3]!)).toEqual({ confined: true })
    await s.assign(ann.id, 'clock-ahead')
    await s.assign(ben.id, 'no-dc')
    await s.answer(ann, 'Time (NTP)')
    expect(runner.calls).toEqual([
      '00:04:f2:00:00:01 meets f6-clock-skew',
      '00:04:f2:00:00:02 meets f4-no-dc-locator',
      '00:04:f2:00:00:01 meets its own',
    ])
  })

  it('runs a story that cannot be confined for every phone, never beside another trainee’s exercise', async () => {
    const journal = new Journal({ clock: manualClock(Date.UTC(2026, 10, 29)) })
    const faults = new FaultEngine({ journal, random: seededRandom(1), servers: SERVER_FAULTS })
    const pack = loadPack(FIRST_DAY)
    const wide = { ...pack.exercises[3]!, id: 'wide', story: 'f3-wins-dead' }
    const runner = storyRunner()
    const s = new TrainingSession(
      { ...pack, exercises: [...pack.exercises, wide] },
      { faults, journal, stories: runner },
    )
    const [ann, bob, cy] = ['01', '02', '03'].map((n) => s.addTrainee(n, `00:04:f2:00:00:${n}`)) as [
      Trainee,
      Trainee,
      Trainee,
    ]
    expect(s.scope(wide)).toEqual({ confined: false, labWide: ['servers.dhcp'] })
    await s.assign(bob.id, 'pool-busy')
    await expect(s.assign(ann.id, 'wide')).rejects.toThrow(
      /wide changes servers.dhcp for every phone, and 02 has an exercise running/,
    )
    await s.answer(bob, 'OCS pool (SIP)')
    await s.assign(ann.id, 'wide')
    await s.assign(cy.id, 'wide') // the same story: the class can share it
    await expect(s.assign(bob.id, 'pool-busy')).rejects.toThrow(
      /runs f3-wins-dead for every phone for 01, 03's exercise/,
    )
    await s.answer(ann, 'Time (NTP)')
    expect(runner.calls).toEqual(['the lab runs f3-wins-dead']) // Cy's exercise still needs it
    await s.answer(cy, 'DNS records')
    expect(runner.calls).toEqual(['the lab runs f3-wins-dead', 'the lab runs its own'])
    await s.assign(bob.id, 'pool-busy')
  })
})

describe('a hands-on exercise (issue 38)', () => {
  it('hands out its tools only, records what the trainee did, and is judged by the phone after the change', async () => {
    const journal = new Journal({ clock: manualClock(Date.UTC(2026, 10, 29)) })
    const faults = new FaultEngine({ journal, random: seededRandom(1), servers: SERVER_FAULTS })
    const now = { ms: 0 }
    const runner = storyRunner()
    const confined: number[] = []
    const verdict = { booted: false, signedIn: false, screen: 'Locating Domain Controller' }
    const seen: number[] = []
    const s = new TrainingSession(loadPack(join(packageRoot(), 'scenarios', 'training', 'half-day.yaml')), {
      faults,
      journal,
      now: () => now.ms,
      stories: { ...runner, confine: (_mac, _file, edits) => void confined.push(edits?.length ?? 0) },
      judge: (_mac, afterSeq) => (seen.push(afterSeq), verdict),
    })
    const ann = s.addTrainee('Ann', '00:04:f2:00:00:01')
    await s.assign(ann.id, 'fix-dc-locator')
    expect(() => s.use(ann, 'directory-search', 'dc1')).toThrow(/does not give you directory-search/)
    await expect(s.answer(ann, 'DNS records')).rejects.toThrow(/Your phone judges this one/)
    now.ms = 30_000
    s.use(ann, 'dns-lookup', '_ldap._tcp.dc._msdcs.corp.contoso.test SRV')
    s.use(ann, 'journal', 'read the phone’s journal')
    s.use(ann, 'journal', 'read the phone’s journal') // a page refreshing what is open: one look
    expect(() =>
      s.edit(ann, { tool: 'dns-edit', add: { name: 'x', type: 'SRV', value: 'nonsense' } }),
    ).toThrow(/That record cannot be added/)
    now.ms = 60_000
    const record = {
      name: '_ldap._tcp.dc._msdcs.corp.contoso.test',
      type: 'SRV' as const,
      value: '0 100 389 dc1.corp.contoso.test',
    }
    s.edit(ann, { tool: 'dns-edit', add: record })
    expect(confined).toEqual([0, 1]) // the story at the assignment, then with the one change
    expect((await s.check(ann)).fixed).toBe(false) // no boot since the change
    Object.assign(verdict, { booted: true, signedIn: true, screen: 'Signed in' })
    now.ms = 90_000
    expect((await s.check(ann)).fixed).toBe(true)
    expect(seen[0]).toBe(seen[1]) // judged from the change on, both times
    expect(s.current(ann)).toBeUndefined()
    expect(s.report(ann)[0]).toMatchObject({
      answer: 'fixed',
      correct: true,
      timeToAnswerMs: 90_000,
      actions: [
        { afterMs: 30_000, tool: 'dns-lookup', what: '_ldap._tcp.dc._msdcs.corp.contoso.test SRV' },
        { afterMs: 30_000, tool: 'journal', what: 'read the phone’s journal' },
        { afterMs: 60_000, tool: 'dns-edit', what: `added ${record.name} SRV ${record.value}` },
        { afterMs: 60_000, tool: 'check', what: 'not yet: no boot since the last change' },
        { afterMs: 90_000, tool: 'check', what: 'signed in after the change: fixed' },
      ],
    })
  })
})

describe('a training session kept across a restart', () => {
  it('comes back as it was: trainees, tokens, attempts, hints, the exercise in progress with its faults', async () => {
    const store = memoryStore()
    const before = session({ ms: 1_000 }, store)
    const ann = before.s.addTrainee('Ann', '00:04:f2:00:00:01')
    await before.s.assign(ann.id, 'pool-busy')
    await before.s.answer(ann, before.s.current(ann)!.exercise.answer!)
    await before.s.assign(ann.id, 'dc-refuses')
    before.s.hint(ann)
    const bob = before.s.addTrainee('Bob', '00:04:f2:00:00:02')
    expect(store.saved).toBe(6)

    // The lab is killed and starts again: a new journal, a new fault engine with none of the runtime rules.
    const after = session({ ms: 9_000 }, store)
    await after.s.restore()
    expect(after.s.trainees().map((t) => [t.id, t.name, t.device, t.token])).toEqual(
      [ann, bob].map((t) => [t.id, t.name, t.device, t.token]),
    )
    const ann2 = after.s.byToken(ann.token)!
    expect(after.s.report(ann2)).toEqual(before.s.report(ann))
    expect(after.s.current(ann2)).toMatchObject({ exercise: { id: 'dc-refuses' }, hintsShown: 1 })
    expect(after.faults.list().map((r) => [r.id, r.rule.match?.device])).toEqual([
      ['train-t1-2-1', '00:04:f2:00:00:01'],
    ])
    expect(after.s.addTrainee('Cy', '00:04:f2:00:00:03').id).toBe('t3')
    expect(after.journal.query({ kind: 'training:restored' })[0]?.detail).toEqual({ trainees: 2, running: 1 })
  })

  it('runs the story of an exercise in progress again, and leaves a session of another pack alone', async () => {
    const store = memoryStore()
    const before = session({ ms: 0 }, store)
    const ann = before.s.addTrainee('Ann', '00:04:f2:00:00:01')
    await before.s.assign(ann.id, 'clock-ahead') // its story: f6-clock-skew
    const stories: string[] = []
    const after = session({ ms: 0 }, store, stories)
    await after.s.restore()
    expect(stories).toEqual(['00:04:f2:00:00:01 meets f6-clock-skew'])
    const other = memoryStore()
    other.save({ ...store.load()!, pack: '/elsewhere/other-pack.yaml' })
    const fresh = session({ ms: 0 }, other)
    await fresh.s.restore()
    expect(fresh.s.trainees()).toEqual([])
  })
})
