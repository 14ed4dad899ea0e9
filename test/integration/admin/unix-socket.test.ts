import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startAdmin } from '../../../lab/admin/server.js'
import { LabClient } from '../../../lab/client/index.js'
import type { JournalEvent } from '../../../core/journal/journal.js'
import { startTestLab } from '../../helpers/lab.js'

/*
 * The commands reach a lab whose admin API is a unix socket (interface mode offers it so: the run file says
 * `unix:<state>/cx700-<if>.sock`), where the global fetch answered "fetch failed" (issue "The hardware
 * phone's path, end to end", finding 1): the client speaks HTTP over the socket for a `unix:` URL.
 */
const dirs: string[] = []
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })))

describe('the lab client on a unix socket', () => {
  it('reads health and the journal, changes faults, and follows the journal as over TCP', async () => {
    await using t = await startTestLab()
    const dir = mkdtempSync(join(tmpdir(), 'cx700-sock-'))
    dirs.push(dir)
    const socket = join(dir, 'admin.sock')
    await using admin = await startAdmin(t.lab, { host: '127.0.0.1', port: 0, path: socket })
    expect(admin.url).toBe(`unix:${socket}`)
    const client = new LabClient(admin.url)
    expect(await client.health()).toMatchObject({ ok: true, scenario: 'test' })
    const added = await client.addFault({ match: { server: 'ntp' }, fault: { kind: 'drop' } })
    expect((await client.faults()).map((f) => f.id)).toEqual([added.id])
    expect(await client.clearFaults()).toEqual({ cleared: 1 })
    const started = await client.journal({ kind: 'lab:started' })
    expect(started).toHaveLength(1)

    const seen: JournalEvent[] = []
    const abort = new AbortController()
    const following = client.followJournal(
      { kind: 'fault:*' },
      (e) => {
        seen.push(e)
        if (seen.length === 3) abort.abort()
      },
      abort.signal,
    )
    await client.addFault({ match: { server: 'dns' }, fault: { kind: 'drop' } })
    await following
    // The backlog (added, cleared), then the fault added while following, whichever came first over the socket.
    expect(seen.map((e) => e.kind)).toEqual(['fault:added', 'fault:cleared', 'fault:added'])
  })

  it('requires the token it was given, as the socket interface mode offers beyond loopback does', async () => {
    await using t = await startTestLab()
    const dir = mkdtempSync(join(tmpdir(), 'cx700-sock-'))
    dirs.push(dir)
    const socket = join(dir, 'admin.sock')
    await using admin = await startAdmin(t.lab, { host: '127.0.0.1', port: 0, path: socket, token: 's3cret' })
    expect(admin.token).toBe('s3cret')
    await expect(new LabClient(admin.url).faults()).rejects.toMatchObject({ status: 401 })
    await expect(new LabClient(admin.url, 'wrong').faults()).rejects.toMatchObject({ status: 401 })
    expect(await new LabClient(admin.url, 's3cret').faults()).toEqual([])
  })
})
