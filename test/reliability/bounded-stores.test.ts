import { mkdtempSync, rmSync } from 'node:fs'
import { request, Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { describe, expect, it } from 'vitest'
import { KerberosRealm, loadRealmSecret } from '../../core/auth/krb5/realm.js'
import { KrbTokId, Mech, krb5Token, negTokenInit } from '../../core/auth/spnego.js'
import { parseDuration } from '../../core/schema/common.js'
import { LabClient } from '../../lab/client/index.js'
import { packageRoot } from '../../lab/paths.js'
import { loadScenario } from '../../lab/scenario/load.js'
import { apReqFor } from '../helpers/kerberos.js'
import { rssMb } from '../../bench/process.js'
import { spawnEphemeralLab } from '../helpers/process.js'

/*
 * Memory a flood leaves behind (issue "Reliability and security, second probe", finding 6): against a lab
 * process, 5,000 NTLM handshakes left unfinished on IIS and 5,000 on one SIP connection, and 30,000 fresh
 * Kerberos authenticators for IIS's replay cache (three times what it keeps; core/auth/krb5/acceptor.test.ts
 * counts its bound and its sweeps over 100,000 — here the process's memory is what is measured, and 100,000
 * took two of CI's three minutes on a loaded two-core machine). Every store is bounded (a connection's security
 * associations keep 64, the replay cache 10,000, an HTTP connection's handshake dies with it), so once the lab
 * is idle again — its memory reducer runs every 10 s — its resident set is back within 50 MB of what it was
 * idle after a small flood of the same kinds (a lab that has served: its compiled code, TLS and allocator arenas).
 */
const SCENARIO = join(packageRoot(), 'scenarios', 'default.yaml')
const NEGOTIATE = 'TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=' // curl's NTLM type 1

/** One request on the agent's connections; its status. */
function get(agent: Agent, port: number, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/certsrv/certcarc.asp',
        agent,
        headers: { host: 'dc1.corp.contoso.test', authorization },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/** `n` requests, `parallel` at a time, each with the header `header(i)`; the statuses seen. */
async function flood(
  n: number,
  parallel: number,
  send: (i: number) => Promise<number>,
): Promise<Set<number>> {
  const statuses = new Set<number>()
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) statuses.add(await send(next++))
    }),
  )
  return statuses
}

/** REGISTERs without credentials on one TLS connection: each one a new NTLM challenge the pool keeps. */
function sipChallenges(port: number, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      servername: 'ocspool.contoso.test',
      rejectUnauthorized: false,
    })
    let answered = 0
    let text = ''
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      const parts = text.split('SIP/2.0 401')
      answered += parts.length - 1
      text = parts.at(-1)!
      if (answered >= n) s.end(() => resolve(answered))
    })
    s.on('error', reject)
    s.on('secureConnect', () => {
      for (let i = 1; i <= n; i++)
        s.write(
          `REGISTER sip:contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK${i}\r\nMax-Forwards: 70\r\n` +
            `From: <sip:alice@contoso.test>;tag=${i}\r\nTo: <sip:alice@contoso.test>\r\nCall-ID: flood\r\nCSeq: ${i} REGISTER\r\n` +
            `Contact: <sip:127.0.0.1:5061;transport=tls>\r\nAuthorization: NTLM qop="auth", realm="SIP Communications Service", targetname="ocspool.contoso.test", gssapi-data=""\r\nContent-Length: 0\r\n\r\n`,
        )
    })
  })
}

describe('a lab after a flood of unfinished handshakes and fresh authenticators', () => {
  it('is back within 50 MB of its idle resident set once idle', async () => {
    const state = mkdtempSync(join(tmpdir(), 'cx700-bounded-'))
    try {
      await using lab = await spawnEphemeralLab(state, [SCENARIO])
      const pid = lab.child.pid!
      const { endpoints } = await new LabClient(lab.ready.adminUrl).endpoints()
      const port = (name: string): number => endpoints.find((e) => e.name === name)!.port
      const scenario = loadScenario(SCENARIO)
      const realm = new KerberosRealm(loadRealmSecret(state), scenario.site, scenario.users, scenario.hosts, {
        maxSkewMs: parseDuration(scenario.servers.kerberos.maxSkew),
      })
      const negotiate = (): string => {
        const apReq = apReqFor(realm, 'HTTP/dc1.corp.contoso.test', { now: Date.now(), mutual: false })
        const token = negTokenInit([Mech.msKrb5, Mech.krb5], krb5Token(KrbTokId.apReq, apReq, Mech.msKrb5))
        return `Negotiate ${Buffer.from(token).toString('base64')}`
      }
      const agent = new Agent({ keepAlive: true, maxSockets: 4 })
      // Warm every path with a small flood of the same kinds (compiled code, TLS and allocator arenas: what
      // a lab that has served holds), then the idle lab's resident set.
      // certsrv refuses a connection's first good ticket once (kerberos: retry, spec §2.5), then takes them.
      expect([200, 401]).toContain(await get(agent, port('http'), negotiate()))
      await flood(500, 16, () => get(new Agent({ keepAlive: false }), port('http'), `NTLM ${NEGOTIATE}`))
      await sipChallenges(port('sip'), 500)
      await flood(5_000, 4, () => get(agent, port('http'), negotiate()))
      const idle = rssMb(pid)

      const ntlm = await flood(5_000, 16, () =>
        get(new Agent({ keepAlive: false }), port('http'), `NTLM ${NEGOTIATE}`),
      )
      expect([...ntlm]).toEqual([401])
      expect(await sipChallenges(port('sip'), 5_000)).toBeGreaterThanOrEqual(5_000)
      const kerberos = await flood(30_000, 4, () => get(agent, port('http'), negotiate()))
      expect(kerberos.has(200)).toBe(true)
      expect([...kerberos].filter((status) => status !== 200 && status !== 401)).toEqual([])
      agent.destroy()
      const flooded = rssMb(pid)

      await expect.poll(() => rssMb(pid), { timeout: 60_000, interval: 1_000 }).toBeLessThan(idle + 50)
      console.log(`RSS: ${idle} MB idle, ${flooded} MB after the flood, ${rssMb(pid)} MB idle again`)
    } finally {
      rmSync(state, { recursive: true, force: true })
    }
  }, 180_000)
})
