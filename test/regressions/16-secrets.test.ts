import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isLoopbackHost } from '../../lab/admin/server.js'
import { labHttp } from '../helpers/https.js'
import { MINIMAL_SCENARIO, startTestLab } from '../helpers/lab.js'

/*
 * Issue 16, findings 5 and 8: secrets the lab served or wrote, and a token skipped for a name that only
 * looks like loopback.
 */
describe('no secret is served, journaled or left behind', () => {
  it('GET /scenario shows no password', async () => {
    await using t = await startTestLab()
    const body = await (await fetch(`${t.admin.url}/scenario`)).text()
    expect(body).toContain('alice@contoso.test')
    expect(body).not.toContain('Passw0rd!')
    expect(body).toContain('(hidden)')
  })

  it('GET /scenario hides the password the scenario’s phone types, too', async () => {
    await using t = await startTestLab(`${MINIMAL_SCENARIO}phone: { password: Typed-Wrong-1 }\n`)
    const body = (await (await fetch(`${t.admin.url}/scenario`)).json()) as {
      scenario: { phone: { password?: string } }
    }
    expect(body.scenario.phone.password).toBe('(hidden)')
    expect(JSON.stringify(body)).not.toContain('Typed-Wrong-1')
  })

  it('POST /scenario by path reads only scenario folders, and says the same whether a file exists or not', async () => {
    await using t = await startTestLab()
    const post = async (path: string) =>
      fetch(`${t.admin.url}/scenario`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path }),
      })
    const passwd = await post('/etc/passwd')
    const nothing = await post('/etc/no-such-file-here')
    expect(passwd.status).toBe(403)
    expect(nothing.status).toBe(403)
    expect(await passwd.text()).toBe(await nothing.text())
    expect((await post('../../../../../../etc/hostname')).status).toBe(403)
  })

  it('journals an Authorization header it cannot parse by its size only, never its content', async () => {
    await using t = await startTestLab()
    const secret = Buffer.from('alice:Passw0rd!').toString('base64')
    for (const header of [`Basic${secret}`, `Basic ${Buffer.from('Passw0rd!').toString('base64')}`]) {
      const answer = await labHttp(t, {
        host: 'dc1.contoso.test',
        path: '/certsrv/certnew.p7b?ReqID=CACert&Renewal=-1&Enc=b64',
        headers: { authorization: header },
      })
      expect(answer.status).toBe(401)
    }
    const journal = readFileSync(join(t.lab.runDir, 'journal.jsonl'), 'utf8')
    expect(journal).not.toContain(secret)
    expect(journal).not.toContain('Passw0rd!')
    expect(journal).toContain('with no scheme the lab knows')
    expect(journal).toContain('without a user:password pair')
  })

  it('writes the run file without the admin token, readable by the owner only', async () => {
    await using t = await startTestLab()
    const file = t.lab.writeRunInfo({ adminUrl: 'http://10.50.0.1:8700', token: 'secret-token' })
    expect(readFileSync(file, 'utf8')).not.toContain('secret-token')
    expect(statSync(file).mode & 0o077).toBe(0)
    expect(file).toBe(join(t.lab.runDir, 'lab.json'))
  })
})

describe('loopback is decided on addresses, never on names', () => {
  it('needs a token for 127.evil.test, not for 127.0.0.1, ::1 or localhost', async () => {
    expect(await isLoopbackHost('127.evil.test')).toBe(false)
    expect(await isLoopbackHost('127.0.0.1')).toBe(true)
    expect(await isLoopbackHost('127.9.9.9')).toBe(true)
    expect(await isLoopbackHost('::1')).toBe(true)
    expect(await isLoopbackHost('localhost')).toBe(true)
    expect(await isLoopbackHost('10.50.0.1')).toBe(false)
  })
})
