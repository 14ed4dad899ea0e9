import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { startTestLab } from '../helpers/lab.js'
import { pythonModule } from '../helpers/tools.js'

/*
 * Issue 34, finding 4: exchangelib (Debian python3-exchangelib) could not walk the lab's mailbox. GetFolder of
 * calendar, sentitems, drafts, tasks, junkemail, outbox, notes, journal and searchfolders answered
 * ErrorFolderNotFound (a 2007 mailbox always has them); FindFolder was not implemented, so root.walk(),
 * tree() and calendar views failed; an IsRead restriction compared text, so xs:boolean's 0 matched nothing.
 */
const run = promisify(execFile)
const exchangelib = pythonModule('exchangelib', 'python3-exchangelib')
const SCRIPT = join(packageRoot(), 'test', 'regressions', 'clients', 'exchangelib-tree.py')
const SCENARIO = `version: 1
name: exchangelib-tree
site: { sipDomain: contoso.test }
users:
  - signInAddress: alice@contoso.test
    password: Passw0rd!
    mailbox:
      voicemail:
        - { from: Bob Baker, phone: '+15550100', durationSeconds: 2 }
        - { from: Dan Dare, durationSeconds: 1, unread: false }
      missedCalls:
        - { from: Eve Early, phone: '+15550199' }
      calendar:
        - { subject: Stand-up, start: '2026-11-25T09:00:00Z', durationMinutes: 15, location: Room 1 }
        - { subject: Review, start: '2026-11-26T14:00:00Z', durationMinutes: 60 }
        - { subject: Later, start: '2026-12-20T14:00:00Z' }
`

describe.skipIf(exchangelib.skip)('exchangelib walks the EWS double’s mailbox', () => {
  it('opens every distinguished folder, walks and draws the tree, filters unread, marks read, views the calendar', async () => {
    await using t = await startTestLab(SCENARIO)
    const endpoint = `https://127.0.0.1:${t.port('http', 'https')}/EWS/Exchange.asmx`
    const { stdout } = await run(
      exchangelib.path!,
      [SCRIPT, endpoint, 'CONTOSO\\alice', 'Passw0rd!', 'alice@contoso.test'],
      { timeout: 90_000 },
    )
    const out = JSON.parse(stdout) as Record<string, unknown>
    expect(out.distinguished).toEqual({
      root: 'root',
      msg_folder_root: 'Top of Information Store',
      calendar: 'Calendar',
      contacts: 'Contacts',
      trash: 'Deleted Items',
      drafts: 'Drafts',
      inbox: 'Inbox',
      journal: 'Journal',
      junk: 'Junk E-mail',
      notes: 'Notes',
      outbox: 'Outbox',
      sent: 'Sent Items',
      tasks: 'Tasks',
      search_folders: 'Finder',
      voice_mail: 'Voice Mail',
    })
    expect(out.walk).toEqual([
      'Calendar',
      'Contacts',
      'Deleted Items',
      'Drafts',
      'Finder',
      'Inbox',
      'Journal',
      'Junk E-mail',
      'Notes',
      'Outbox',
      'Sent Items',
      'Tasks',
      'Top of Information Store',
      'Voice Mail',
    ])
    expect(out.tree).toContain('└── Voice Mail')
    expect(out.unread).toEqual([2, 1])
    expect(out.read).toBe(2)
    expect(out.calendar).toEqual([
      ['Stand-up', '2026-11-25T09:00:00+00:00', 'Room 1'],
      ['Review', '2026-11-26T14:00:00+00:00', null],
    ])
    const ops = new Set((await t.client.journal({ server: 'http' })).map((e) => e.detail.operation))
    for (const op of ['GetFolder', 'FindFolder', 'FindItem', 'UpdateItem']) expect(ops.has(op), op).toBe(true)
  }, 120_000)
})
