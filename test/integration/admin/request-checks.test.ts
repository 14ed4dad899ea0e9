import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { adminApp } from '../../../lab/admin/app.js'
import { startTestLab, type TestLab } from '../../helpers/lab.js'

/*
 * The four cross-site requests the second reliability probe made against a loopback lab (issue "Reliability
 * and security, second probe", finding 2), injected into the admin API as a browser would send them: each is
 * refused, and the same requests from the lab's own pages or from a client that is no browser still work.
 */
let t: TestLab
let app: FastifyInstance
beforeAll(async () => {
  t = await startTestLab()
  app = await adminApp(t.lab, { token: undefined, names: ['lab.example'] })
})
afterAll(async () => {
  await app?.close()
  await t?.[Symbol.asyncDispose]()
})

const OWN = { host: '127.0.0.1:8080' }
const EVIL = { ...OWN, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }
const SCENARIO = 'version: 1\nname: swapped\nsite: { sipDomain: evil.test }\n'

describe('requests from another web page', () => {
  it('refuses a DNS-rebinding Host: the journal, scenario and capture are not read', async () => {
    for (const url of ['/journal', '/scenario', '/capture', '/health', '/'])
      expect((await app.inject({ url, headers: { host: 'evil.example:8080' } })).statusCode, url).toBe(403)
    const r = await app.inject({ url: '/journal', headers: { host: 'evil.example' } })
    expect(r.json()).toEqual({ error: expect.stringContaining('"evil.example"') })
  })

  it('refuses cross-origin state changes: a scenario posted as text/plain, a journal clear, a hard reset', async () => {
    const swap = await app.inject({
      method: 'POST',
      url: '/scenario',
      headers: { ...EVIL, 'content-type': 'text/plain' },
      payload: SCENARIO,
    })
    expect(swap.statusCode).toBe(403)
    expect((await app.inject({ method: 'POST', url: '/journal/clear', headers: EVIL })).statusCode).toBe(403)
    const reset = await app.inject({
      method: 'POST',
      url: '/phones/00:04:f2:aa:bb:cc/hard-reset',
      headers: EVIL,
    })
    expect(reset.statusCode).toBe(403)
    // An Origin alone (no Sec-Fetch-Site, as older browsers send) is enough; so is a null one.
    for (const origin of ['http://evil.example', 'null'])
      expect((await app.inject({ url: '/journal', headers: { ...OWN, origin } })).statusCode, origin).toBe(
        403,
      )
    expect(t.lab.scenario.name).toBe('test')
    expect(t.lab.journal.query({ kind: 'lab:phone-command' })).toEqual([])
  })

  it('takes a body only as JSON or YAML with its own type: text/plain is not a scenario', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/scenario',
      headers: { ...OWN, 'content-type': 'text/plain' },
      payload: SCENARIO,
    })
    expect(r.statusCode).toBe(415)
    expect(t.lab.scenario.name).toBe('test')
  })

  it('sends no CORS header, even when asked', async () => {
    const r = await app.inject({
      method: 'OPTIONS',
      url: '/journal',
      headers: { ...OWN, origin: 'http://127.0.0.1:8080', 'access-control-request-method': 'POST' },
    })
    expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([])
  })

  it('still serves its own pages, the names it listens as, and clients that are no browser', async () => {
    const own = { ...OWN, origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-origin' }
    expect((await app.inject({ url: '/journal', headers: own })).statusCode).toBe(200)
    for (const host of ['localhost:8080', '[::1]:8080', 'lab.example', '10.50.0.1'])
      expect((await app.inject({ url: '/health', headers: { host } })).statusCode, host).toBe(200)
    const typed = { 'sec-fetch-site': 'none', host: 'localhost:8080' }
    expect((await app.inject({ url: '/journal', headers: typed })).statusCode).toBe(200)
    expect((await app.inject({ url: '/journal' })).statusCode).toBe(200)
  })
})
