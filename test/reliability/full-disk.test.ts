import { execFileSync } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from 'ldapts'
import { describe, expect, it } from 'vitest'
import { DnsRcode, DnsType } from '../../servers/dns/codec.js'
import { askUdp, dnsQuery } from '../helpers/dns-client.js'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { SipTestClient } from '../helpers/sip-client.js'

/*
 * A full disk under a running lab (issue "Reliability and security, second probe", finding 1): the state
 * folder on an 8 MiB tmpfs, filled to the last octet while phones ask. DNS, LDAP, a SIP sign-in and the admin API keep
 * answering, memory keeps every event, the journal says the file is missing lines; when space is freed the
 * file is written again, its torn line ended, and an event in it counts what it is missing.
 */
const root = process.getuid?.() === 0

/** Writes zeros until the file system is full. */
function fill(file: string): void {
  const fd = openSync(file, 'w')
  const block = Buffer.alloc(64 * 1024)
  try {
    for (;;) writeSync(fd, block)
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err
  } finally {
    closeSync(fd)
  }
}

async function ask(t: TestLab, name: string): Promise<number | undefined> {
  return (await askUdp(t.port('dns'), dnsQuery(name, DnsType.A)))?.rcode
}

async function bind(t: TestLab): Promise<void> {
  const c = new Client({ url: `ldap://127.0.0.1:${t.port('ldap')}`, timeout: 3_000 })
  try {
    await c.bind('CONTOSO\\alice', 'Passw0rd!')
  } finally {
    await c.unbind()
  }
}

describe.skipIf(!root)('a lab whose state folder fills up', () => {
  it('keeps serving DNS, LDAP, SIP and the admin API, then writes its journal again when space returns', async () => {
    const mount = mkdtempSync(join(tmpdir(), 'cx700-full-disk-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount])
    try {
      await using t = await startTestLab(undefined, { parent: mount })
      const filler = join(mount, 'filler')
      fill(filler)
      expect(await ask(t, 'sip.contoso.test')).toBe(DnsRcode.NOERROR)
      await bind(t)
      await using sip = await SipTestClient.tls(t)
      expect((await sip.register('alice@contoso.test', 'alice', 'Passw0rd!')).status).toBe(200)
      await t.lab.journal.waitFor({ kind: 'journal:write-failed' })
      const full = await t.client.health()
      expect(full).toMatchObject({ ok: true, journalFile: { writing: false } })
      expect(t.lab.journal.query({ kind: 'ldap:bind' })).toHaveLength(1)

      rmSync(filler)
      // Writing is tried again at most once a second: ask until the journal says it writes again.
      await expect
        .poll(
          async () => (
            await ask(t, 'ocspool.contoso.test'),
            t.lab.journal.query({ kind: 'journal:write-resumed' })
          ),
          {
            timeout: 10_000,
            interval: 200,
          },
        )
        .toHaveLength(1)
      expect((await t.client.health()).journalFile).toEqual({ writing: true, missing: 0 })
      const lines = readFileSync(join(t.lab.runDir, 'journal.jsonl'), 'utf8').split('\n').filter(Boolean)
      const events = lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as { kind: string; detail: Record<string, unknown> }]
        } catch {
          return [] // the line the full disk tore
        }
      })
      expect(lines.length - events.length).toBeLessThanOrEqual(1)
      const resumed = events.find((e) => e.kind === 'journal:write-resumed')
      expect(resumed?.detail.missing).toBeGreaterThan(0)
      expect(events.at(-1)?.kind).toMatch(/^(dns:query|journal:write-resumed)$/)
    } finally {
      execFileSync('umount', ['-l', mount])
      rmSync(mount, { recursive: true, force: true })
    }
  })
})
