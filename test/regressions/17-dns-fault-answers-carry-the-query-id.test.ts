import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { tool } from '../helpers/tools.js'

/*
 * Issue 17, finding 1: every DNS fault that rewrites the answer (error, answer, corrupt/truncate of the
 * encoded answer) sent DNS ID 0, so dig printed "ID mismatch" and timed out: for any real resolver the
 * fault acted as a drop while the journal said an answer was sent. dig, not our own client, is the judge.
 */
const run = promisify(execFile)
const dig = tool('dig', 'bind9-dnsutils')

async function digAt(t: TestLab, args: string[]): Promise<string> {
  const { stdout, stderr } = await run(
    dig.path!,
    [
      '@127.0.0.1',
      '-p',
      String(args.includes('+tcp') ? t.port('dns', 'dns-tcp') : t.port('dns', 'dns')),
      '+tries=1',
      '+time=2',
      ...args,
    ],
    { timeout: 15_000 },
  ).catch((err: { stdout?: string; stderr?: string }) => ({
    stdout: err.stdout ?? '',
    stderr: err.stderr ?? '',
  }))
  return stderr + stdout
}

describe.skipIf(dig.skip)('DNS fault answers carry the query ID (dig)', () => {
  const NAME = '_sipinternaltls._tcp.contoso.test'
  for (const [label, fault, expected] of [
    ['error SERVFAIL', { kind: 'error', code: 'SERVFAIL' }, 'status: SERVFAIL'],
    ['error NXDOMAIN', { kind: 'error', code: 'NXDOMAIN' }, 'status: NXDOMAIN'],
    ['error REFUSED', { kind: 'error', code: 'REFUSED' }, 'status: REFUSED'],
    ['answer ttl=5', { kind: 'answer', set: { ttl: 5 } }, `${NAME}. 5 IN SRV`],
  ] as const) {
    for (const transport of ['+notcp', '+tcp']) {
      it(`${label} over ${transport === '+tcp' ? 'TCP' : 'UDP'}: dig reads the answer`, async () => {
        await using t = await startTestLab()
        await t.client.addFault({ match: { server: 'dns', fields: { qname: NAME } }, fault, times: 1 })
        const out = await digAt(t, [transport, '+noall', '+comments', '+answer', NAME, 'SRV'])
        expect(out).not.toMatch(/ID mismatch|timed out|no servers could be reached/)
        expect(out.replace(/\s+/g, ' ')).toContain(expected.replace(/\s+/g, ' '))
        const applied = await t.client.journal({ kind: 'fault:applied' })
        expect(applied).toHaveLength(1)
      })
    }
  }
})
