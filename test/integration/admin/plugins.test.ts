import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { adminApp } from '../../../lab/admin/app.js'
import { startTestLab, type TestLab } from '../../helpers/lab.js'

/*
 * The admin API's plugins, injected into (no socket): where a route is registered decides who may call it,
 * and every route's schema answers in the lab's words.
 */
const TOKEN = 'the-admin-token'
let t: TestLab
let app: FastifyInstance
beforeAll(async () => {
  t = await startTestLab()
  app = await adminApp(t.lab, { token: TOKEN })
})
afterAll(async () => {
  await app?.close()
  await t?.[Symbol.asyncDispose]()
})
const auth = { authorization: `Bearer ${TOKEN}` }

interface Refusal {
  error: string
  problems: { path: string; message: string }[]
}
const refusal = (r: { json: () => unknown }): Refusal => r.json() as Refusal

describe('the admin API’s contexts', () => {
  it('opens /health and the pages to anyone: they carry no data', async () => {
    for (const url of ['/health', '/', '/trainee'])
      expect((await app.inject({ url })).statusCode, url).toBe(200)
    expect((await app.inject({ url: '/dashboard' })).statusCode).toBe(302)
  })

  it('puts every other route behind the one gate, the servers’ own routes included', async () => {
    for (const url of [
      '/journal',
      '/faults',
      '/scenario',
      '/pki',
      '/clock',
      '/timeline',
      '/sip/registrations',
    ]) {
      const refused = await app.inject({ url })
      expect(refused.statusCode, url).toBe(401)
      expect(refused.headers['www-authenticate']).toBe('Bearer')
      expect((await app.inject({ url, headers: auth })).statusCode, url).toBe(200)
    }
    const wrong = await app.inject({ url: '/journal', headers: { authorization: 'Bearer nope' } })
    expect(wrong.statusCode).toBe(401)
  })

  it('keeps the trainees’ routes to trainees’ tokens: the admin token opens none of them', async () => {
    const r = await app.inject({ url: '/trainee/state', headers: auth })
    expect(r.statusCode).toBe(401)
    expect(r.json()).toEqual({ error: 'open the link your trainer gave you' })
  })
})

describe('the admin API’s schemas', () => {
  it('refuse a bad fault rule with every problem, in the lab’s words', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/faults',
      headers: auth,
      payload: { match: { server: 'ntp' }, fault: { kind: 'drop' }, tmes: 2 },
    })
    expect(r.statusCode).toBe(400)
    expect(r.json()).toMatchObject({
      error: 'Failed to add a fault: the request body is invalid.',
      problems: [{ path: '/tmes', message: expect.stringContaining('did you mean "times"') }],
    })
  })

  it('refuse a misspelt journal query rather than ignore it', async () => {
    const r = await app.inject({ url: '/journal?limt=5', headers: auth })
    expect(r.statusCode).toBe(400)
    expect(r.json()).toMatchObject({
      error: 'Failed to read the journal: the query string is invalid.',
      problems: [{ path: '/limt', message: expect.stringContaining('did you mean "limit"') }],
    })
    expect((await app.inject({ url: '/journal?limit=x', headers: auth })).statusCode).toBe(400)
    expect((await app.inject({ url: '/journal?limit=5&server=ntp', headers: auth })).statusCode).toBe(200)
  })

  it('check path parameters: a phone command needs a MAC and a command the phone takes', async () => {
    const bad = await app.inject({ method: 'POST', url: '/phones/not-a-mac/explode', headers: auth })
    expect(bad.statusCode).toBe(400)
    expect(
      refusal(bad)
        .problems.map((p) => p.path)
        .sort(),
    ).toEqual(['/command', '/mac'])
    const ok = await app.inject({ method: 'POST', url: '/phones/00:04:F2:01:02:03/reboot', headers: auth })
    expect(ok.statusCode).toBe(202)
    expect(ok.json()).toEqual({ mac: '00:04:f2:01:02:03', command: 'reboot' })
  })

  it('say a clock only moves forward before calling the duration malformed', async () => {
    const back = await app.inject({
      method: 'POST',
      url: '/clock',
      headers: auth,
      payload: { advance: '-1h' },
    })
    expect(back.statusCode).toBe(400)
    expect(refusal(back).error).toMatch(/only moves forward/)
    const odd = await app.inject({ method: 'POST', url: '/clock', headers: auth, payload: { rat: 2 } })
    expect(odd.json()).toMatchObject({
      error: 'Failed to change the lab clock: the request body is invalid.',
    })
  })

  it('name a scenario sent as text by the file it was read from, without opening that file', async () => {
    const yaml = 'version: 1\nname: posted\nsite: { sipDomain: contoso.test }\n'
    const sent = await app.inject({
      method: 'POST',
      url: '/scenario',
      headers: auth,
      payload: { yaml, from: '/home/qa/sites/my-site.yaml' },
    })
    expect(sent.statusCode, sent.body).toBe(200)
    const inForce = (await app.inject({ url: '/scenario', headers: auth })).json<{
      name: string
      file: string
      postedFrom?: string
    }>()
    expect(inForce).toMatchObject({
      name: 'posted',
      file: expect.stringMatching(/<admin>$/),
      postedFrom: '/home/qa/sites/my-site.yaml',
    })
  })

  it('take a scenario as YAML text and refuse a body that is neither text nor {yaml} nor {path}', async () => {
    const nope = await app.inject({ method: 'POST', url: '/scenario', headers: auth, payload: { nope: 1 } })
    expect(nope.statusCode).toBe(400)
    expect(refusal(nope).error).toMatch(/^Failed to load a scenario \(send YAML as text\/yaml/)
  })
})
