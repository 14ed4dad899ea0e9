import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../../lab/paths.js'
import { runPhone } from '../../../phone/emulator.js'
import { startTestLab } from '../../helpers/lab.js'
import { scenarioPhone } from '../../helpers/phone.js'

const PACK = join(packageRoot(), 'scenarios', 'training', 'first-day.yaml')
const MAC = '00:04:f2:00:7c:01'
const BEN = '00:04:f2:00:7c:02'

describe('training: an exercise of a story', () => {
  it('runs the story on the trainee’s phone alone while the exercise does, and the lab’s after the answer', async () => {
    await using t = await startTestLab(undefined, {
      file: join(packageRoot(), 'scenarios', 'default.yaml'),
      training: PACK,
    })
    const api = t.client.baseUrl
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${api}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      })
    const added = (await (await post('/training/trainees', { name: 'Ann', device: MAC })).json()) as {
      id: string
      url: string
    }
    expect((await post(`/training/trainees/${added.id}/assign`, { exercise: 'clock-ahead' })).status).toBe(
      200,
    )
    // NTP ten minutes ahead for Ann's phone only: the lab still runs its scenario, and Ben's phone signs in.
    expect(t.lab.scenario.name).toBe('default')
    expect(t.lab.deviceViews.list()).toMatchObject([
      { mac: MAC, scenario: 'f6-clock-skew', plan: { servers: ['ntp'] } },
    ])
    expect((await runPhone(scenarioPhone(t, MAC))).endState).toBe('kerberos-skew')
    expect((await runPhone(scenarioPhone(t, BEN))).endState).toBe('signed-in')

    const token = added.url.split('#token=')[1]!
    const get = async (path: string) =>
      (await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()
    const state = (await get('/trainee/state')) as {
      exercise: { question: string }
      phone: { screen: string; stages: object }
    }
    const { events } = (await get('/trainee/tools/journal')) as {
      events: { summary: string; ok?: boolean }[]
    }
    expect(state.exercise.question).toContain('could not sign in')
    // What the phone's user and the servers' logs show, but no stage verdict (DHCP ✓, Kerberos ✗): they would
    // all but name the cause (issue 38, finding 2); this exercise does not allow them (showStages).
    expect(events.length).toBeGreaterThan(0)
    expect(state.phone.stages).toEqual({})
    expect(events.filter((e) => 'ok' in e)).toEqual([])
    expect(JSON.stringify(state)).not.toContain('f6-clock-skew')
    const answered = (await (await post('/trainee/answer', { choice: 'Time (NTP)' }, token)).json()) as {
      correct: boolean
    }
    expect(answered.correct).toBe(true)
    expect(t.lab.deviceViews.list()).toEqual([])
    expect((await runPhone(scenarioPhone(t, MAC, '3.5.6907.35'))).endState).toBe('signed-in')
  })
})
