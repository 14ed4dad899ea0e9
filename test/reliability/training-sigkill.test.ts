import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { spawnEphemeralLab } from '../helpers/process.js'

/*
 * A class whose lab is killed (issue "Reliability and security, second probe", finding 4): a trainer adds a
 * trainee and gives an exercise, the trainee takes a hint; the lab process gets SIGKILL and starts again on
 * the same state folder. The class is as it was: the trainee, their link's token, the exercise in progress
 * with its hint, and its fault back on their phone.
 */
const PACK = join(packageRoot(), 'scenarios', 'training', 'first-day.yaml')

async function call(admin: string, path: string, init: RequestInit = {}): Promise<unknown> {
  const r = await fetch(admin + path, init)
  expect(r.status, `${init.method ?? 'GET'} ${path}`).toBeLessThan(300)
  return r.json()
}

const post = (body: object, token?: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
})

describe('a class through a SIGKILL', () => {
  it('is as it was after the lab starts again on the same state folder', async () => {
    const state = mkdtempSync(join(tmpdir(), 'cx700-class-'))
    try {
      const first = await spawnEphemeralLab(state, ['--training', PACK])
      const admin = first.ready.adminUrl
      const newTrainee = post({ name: 'Ann', device: '00:04:f2:00:00:01' })
      const added = (await call(admin, '/training/trainees', newTrainee)) as { id: string; url: string }
      // The trainee's link carries the token after #token=.
      const ann = { id: added.id, token: added.url.replace('/trainee#token=', '') }
      await call(admin, `/training/trainees/${ann.id}/assign`, post({ exercise: 'dc-refuses' }))
      await call(admin, '/trainee/hint', post({}, ann.token))
      const before = await call(admin, '/trainee/state', {
        headers: { authorization: `Bearer ${ann.token}` },
      })
      first.child.kill('SIGKILL')
      expect(await first.exited).toBe('SIGKILL')

      await using second = await spawnEphemeralLab(state, ['--training', PACK])
      const again = second.ready.adminUrl
      const after = await call(again, '/trainee/state', { headers: { authorization: `Bearer ${ann.token}` } })
      // The exercise's clock ran on while the lab was down (a class runs on people's time).
      const left = (state: unknown): number =>
        (state as { exercise: { timeLeftMs: number } }).exercise.timeLeftMs
      expect(left(after)).toBeLessThanOrEqual(left(before))
      expect(after).toEqual({
        ...(before as object),
        exercise: { ...(before as { exercise: object }).exercise, timeLeftMs: left(after) },
      })
      const faults = (await call(again, '/faults')) as { faults: { id: string; rule: { match: object } }[] }
      expect(faults.faults.map((f) => [f.id, f.rule.match])).toEqual([
        ['train-t1-1-1', expect.objectContaining({ device: '00:04:f2:00:00:01' })],
      ])
      const trainees = (await call(again, '/training')) as { trainees: { id: string; name: string }[] }
      expect(trainees.trainees.map((t) => [t.id, t.name])).toEqual([['t1', 'Ann']])
    } finally {
      rmSync(state, { recursive: true, force: true })
    }
  })
})
