import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import { children, parseXml, path, type XmlElement } from '../../core/xml.js'
import { ews, type EwsContext } from './ews.js'
import { ITEM_CLASS, buildMailbox, toneWav } from './mailbox.js'

const scenario = loadScenario(
  't.yaml',
  `version: 1
name: t
site: { sipDomain: contoso.test }
users:
  - signInAddress: alice@contoso.test
    password: pw
    displayName: Alice Anders
    mailbox:
      contacts:
        - { name: Bob Baker, phone: '+15550100', email: bob@contoso.test }
        - { name: Carol Chen, phone: '+15550101' }
      voicemail:
        - { from: Bob Baker, phone: '+15550100', durationSeconds: 2 }
        - { from: Dan Dare, subject: Old news, durationSeconds: 1, unread: false, at: '2026-01-01T08:00:00Z' }
      missedCalls:
        - { from: Eve Early, phone: '+15550199' }
      calendar:
        - { subject: Stand-up, start: '2026-11-25T09:00:00Z', durationMinutes: 15, location: Room 1 }
        - { subject: Review, start: '2026-11-26T14:00:00Z', durationMinutes: 60 }
  - { signInAddress: bob@contoso.test, password: pw, displayName: Bob Baker }
`,
)
const alice = scenario.users[0]!
const NOW = Date.parse('2026-11-25T12:00:00Z')

function context(over: Partial<EwsContext> = {}): EwsContext {
  return {
    mailbox: buildMailbox(alice, NOW),
    users: scenario.users,
    audio: (a) => toneWav(a.durationSeconds),
    ...over,
  }
}

const envelope = (body: string): string =>
  `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
  xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header><t:RequestServerVersion Version="Exchange2007_SP1"/></soap:Header>
  <soap:Body>${body}</soap:Body></soap:Envelope>`

const findItem = (folder: string, extra = '', view = ''): string =>
  envelope(`<m:FindItem Traversal="Shallow">
  <m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>${view}${extra}
  <m:ParentFolderIds><t:DistinguishedFolderId Id="${folder}"/></m:ParentFolderIds></m:FindItem>`)

/** The response messages of an answer. */
function messages(xml: string): XmlElement[] {
  const body = path(parseXml(xml), 'Body')!.children[0]!
  return [...children(path(body, 'ResponseMessages'))]
}
const items = (m: XmlElement | undefined): XmlElement[] => [...children(path(m, 'RootFolder', 'Items'))]

describe('EWS FindItem', () => {
  it('lists voice mails (the Voice Mail search folder) newest first with Default properties', () => {
    const a = ews(findItem('voicemail'), context())
    expect(a).toMatchObject({
      status: 200,
      operation: 'FindItem',
      folder: 'voicemail',
      items: 2,
      code: 'NoError',
    })
    const [m] = messages(a.xml)
    expect(m?.attrs.ResponseClass).toBe('Success')
    const list = items(m)
    expect(list.map((i) => path(i, 'Subject')?.text)).toEqual([
      'Voice Mail from Bob Baker (2 seconds)',
      'Old news',
    ])
    expect(list.map((i) => path(i, 'ItemClass')?.text)).toEqual([ITEM_CLASS.voicemail, ITEM_CLASS.voicemail])
    expect(list.map((i) => path(i, 'IsRead')?.text)).toEqual(['false', 'true'])
    expect(path(list[0], 'From', 'Mailbox', 'Name')?.text).toBe('Bob Baker')
    expect(path(list[0], 'HasAttachments')?.text).toBe('true')
    expect(path(list[1], 'DateTimeReceived')?.text).toBe('2026-01-01T08:00:00Z')
    expect(path(m, 'RootFolder')?.attrs).toMatchObject({
      TotalItemsInView: '2',
      IncludesLastItemInRange: 'true',
    })
  })

  it('restricts the Inbox to missed calls by item:ItemClass (spec §4.2)', () => {
    const restriction = `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:ItemClass"/>
      <t:FieldURIOrConstant><t:Constant Value="IPM.Note.Microsoft.Missed.Voice"/></t:FieldURIOrConstant>
      </t:IsEqualTo></m:Restriction>`
    const list = items(messages(ews(findItem('inbox', restriction), context()).xml)[0])
    expect(list.map((i) => path(i, 'Subject')?.text)).toEqual(['Missed call from Eve Early'])
    // Unrestricted, the Inbox holds both kinds.
    expect(items(messages(ews(findItem('inbox'), context()).xml)[0])).toHaveLength(3)
    const unread = `<m:Restriction><t:And><t:Contains ContainmentMode="Prefixed" ContainmentComparison="IgnoreCase">
      <t:FieldURI FieldURI="item:ItemClass"/><t:Constant Value="ipm.note.microsoft.voicemail"/></t:Contains>
      <t:IsEqualTo><t:FieldURI FieldURI="message:IsRead"/><t:FieldURIOrConstant><t:Constant Value="false"/>
      </t:FieldURIOrConstant></t:IsEqualTo></t:And></m:Restriction>`
    expect(items(messages(ews(findItem('inbox', unread), context()).xml)[0])).toHaveLength(1)
    const unsupported = `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:Categories"/>
      <t:FieldURIOrConstant><t:Constant Value="x"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`
    const a = ews(findItem('inbox', unsupported), context())
    expect(a.code).toBe('ErrorUnsupportedPathForQuery')
  })

  it('pages with IndexedPageItemView (offset, max, base point)', () => {
    const page = (offset: number, max: number, base = 'Beginning'): XmlElement | undefined =>
      messages(
        ews(
          findItem(
            'inbox',
            '',
            `<m:IndexedPageItemView MaxEntriesReturned="${max}" Offset="${offset}" BasePoint="${base}"/>`,
          ),
          context(),
        ).xml,
      )[0]
    const first = page(0, 2)
    expect(items(first)).toHaveLength(2)
    expect(path(first, 'RootFolder')?.attrs).toEqual({
      IndexedPagingOffset: '2',
      TotalItemsInView: '3',
      IncludesLastItemInRange: 'false',
    })
    const second = page(2, 2)
    expect(items(second)).toHaveLength(1)
    expect(path(second, 'RootFolder')?.attrs.IncludesLastItemInRange).toBe('true')
    expect(path(items(page(0, 1, 'End'))[0], 'Subject')?.text).toBe('Old news')
    expect(items(page(9, 2))).toHaveLength(0)
  })

  it('lists contacts with name, e-mail and phone numbers', () => {
    const list = items(messages(ews(findItem('contacts'), context()).xml)[0])
    expect(list.map((c) => c.name)).toEqual(['Contact', 'Contact'])
    expect(list.map((c) => path(c, 'DisplayName')?.text)).toEqual(['Bob Baker', 'Carol Chen'])
    expect(path(list[0], 'PhoneNumbers', 'Entry')?.text).toBe('+15550100')
    expect(path(list[0], 'PhoneNumbers', 'Entry')?.attrs.Key).toBe('BusinessPhone')
    expect(path(list[0], 'EmailAddresses', 'Entry')?.text).toBe('bob@contoso.test')
    expect(path(list[1], 'EmailAddresses')).toBeUndefined()
  })

  it('answers IdOnly with ids only, plus the additional properties asked for', () => {
    const body = envelope(`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>
      <t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape>
      <m:ParentFolderIds><t:DistinguishedFolderId Id="voicemail"/></m:ParentFolderIds></m:FindItem>`)
    const [first] = items(messages(ews(body, context()).xml)[0])
    expect(first?.children.map((c) => c.name)).toEqual(['ItemId', 'Subject'])
  })

  it('answers ErrorFolderNotFound for a folder a 2007 mailbox does not have', () => {
    // recoverableitemsroot came with Exchange 2010.
    const a = ews(findItem('recoverableitemsroot'), context())
    expect(messages(a.xml)[0]?.attrs.ResponseClass).toBe('Error')
    expect(a.code).toBe('ErrorFolderNotFound')
  })
})

describe('EWS GetItem, GetAttachment, UpdateItem, DeleteItem, GetFolder, ResolveNames', () => {
  const firstVoicemail = (ctx: EwsContext): XmlElement =>
    items(messages(ews(findItem('voicemail'), ctx).xml)[0])[0]!

  it('gets a voice mail with body, caller ID header and attachment, then its WAV audio', () => {
    const ctx = context()
    const id = path(firstVoicemail(ctx), 'ItemId')!.attrs.Id!
    const got = ews(
      envelope(`<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>
      <m:ItemIds><t:ItemId Id="${id}"/><t:ItemId Id="bm9wZQ=="/></m:ItemIds></m:GetItem>`),
      ctx,
    )
    const [ok, missing] = messages(got.xml)
    const message = path(ok, 'Items', 'Message')
    expect(path(message, 'Body')?.text).toBe('You received a voice mail from Bob Baker at +15550100.')
    expect(missing?.attrs.ResponseClass).toBe('Error')
    expect(path(missing, 'ResponseCode')?.text).toBe('ErrorItemNotFound')
    const all = ews(
      envelope(`<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>
      <m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:GetItem>`),
      ctx,
    )
    const headers = children(path(messages(all.xml)[0], 'Items', 'Message', 'InternetMessageHeaders'))
    expect(headers.map((h) => [h.attrs.HeaderName, h.text])).toContainEqual([
      'X-CallingTelephoneNumber',
      '+15550100',
    ])
    const attachmentId = path(message, 'Attachments', 'FileAttachment', 'AttachmentId')!.attrs.Id!
    const att = ews(
      envelope(
        `<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="${attachmentId}"/></m:AttachmentIds></m:GetAttachment>`,
      ),
      ctx,
    )
    const file = path(messages(att.xml)[0], 'Attachments', 'FileAttachment')
    expect(path(file, 'ContentType')?.text).toBe('audio/wav')
    const wav = Buffer.from(path(file, 'Content')!.text, 'base64')
    expect(wav.toString('latin1', 0, 4)).toBe('RIFF')
    expect(wav.toString('latin1', 8, 12)).toBe('WAVE')
    expect(wav.readUInt32LE(40)).toBe(2 * 8000 * 2) // 2 seconds of 16-bit 8 kHz
    const bad = ews(
      envelope(
        `<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="x"/></m:AttachmentIds></m:GetAttachment>`,
      ),
      ctx,
    )
    expect(bad.code).toBe('ErrorInvalidAttachmentId')
  })

  it('marks a voice mail read (UpdateItem) and deletes it into Deleted Items (DeleteItem)', () => {
    const ctx = context()
    const item = firstVoicemail(ctx)
    const id = path(item, 'ItemId')!.attrs.Id!
    const update = ews(
      envelope(`<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly"><m:ItemChanges>
      <t:ItemChange><t:ItemId Id="${id}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="message:IsRead"/>
      <t:Message><t:IsRead>true</t:IsRead></t:Message></t:SetItemField></t:Updates></t:ItemChange>
      </m:ItemChanges></m:UpdateItem>`),
      ctx,
    )
    expect(update.code).toBe('NoError')
    const changeKey = path(messages(update.xml)[0], 'Items', 'Message', 'ItemId')?.attrs.ChangeKey
    expect(changeKey).not.toBe(path(item, 'ItemId')?.attrs.ChangeKey)
    expect(path(firstVoicemail(ctx), 'IsRead')?.text).toBe('true')
    const subjectUpdate = ews(
      envelope(`<m:UpdateItem><m:ItemChanges><t:ItemChange><t:ItemId Id="${id}"/><t:Updates><t:SetItemField>
      <t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>x</t:Subject></t:Message></t:SetItemField>
      </t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`),
      ctx,
    )
    expect(subjectUpdate.code).toBe('ErrorInvalidPropertySet')
    const del = ews(
      envelope(
        `<m:DeleteItem DeleteType="MoveToDeletedItems"><m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:DeleteItem>`,
      ),
      ctx,
    )
    expect(del.code).toBe('NoError')
    expect(items(messages(ews(findItem('voicemail'), ctx).xml)[0])).toHaveLength(1)
    expect(items(messages(ews(findItem('deleteditems'), ctx).xml)[0])).toHaveLength(1)
    const folder = ews(
      envelope(`<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>
      <t:DistinguishedFolderId Id="inbox"/><t:DistinguishedFolderId Id="voicemail"/>
      <t:DistinguishedFolderId Id="contacts"/></m:FolderIds></m:GetFolder>`),
      ctx,
    )
    const folders = messages(folder.xml).map((m) => path(m, 'Folders')!.children[0]!)
    expect(folders.map((f) => [f.name, path(f, 'TotalCount')?.text, path(f, 'UnreadCount')?.text])).toEqual([
      ['Folder', '2', '1'],
      ['SearchFolder', '1', '0'],
      ['ContactsFolder', '2', undefined],
    ])
  })

  it('resolves names against the directory and the contacts, with Exchange’s response classes', () => {
    const resolve = (name: string): ReturnType<typeof ews> =>
      ews(
        envelope(
          `<m:ResolveNames ReturnFullContactData="true"><m:UnresolvedEntry>${name}</m:UnresolvedEntry></m:ResolveNames>`,
        ),
        context(),
      )
    const carol = resolve('carol')
    expect(carol.code).toBe('NoError')
    expect(path(messages(carol.xml)[0], 'ResolutionSet', 'Resolution', 'Mailbox', 'MailboxType')?.text).toBe(
      'Contact',
    )
    const bob = resolve('Bob') // the user Bob Baker and the contact Bob Baker
    expect(messages(bob.xml)[0]?.attrs.ResponseClass).toBe('Warning')
    expect(bob.code).toBe('NoError')
    expect(path(messages(bob.xml)[0], 'ResponseCode')?.text).toBe('ErrorNameResolutionMultipleResults')
    expect(resolve('zed').code).toBe('ErrorNameResolutionNoResults')
  })
})

describe('EWS errors', () => {
  it('answers a SOAP fault carrying the EWS response code for an unsupported operation or bad XML', () => {
    const create = ews(envelope('<m:CreateItem/>'), context())
    expect(create.status).toBe(500)
    const fault = path(parseXml(create.xml), 'Body', 'Fault')
    expect(path(fault, 'faultcode')?.text).toBe('soap:Client')
    expect(path(fault, 'detail', 'ResponseCode')?.text).toBe('ErrorInvalidRequest')
    const bad = ews('<soap:Envelope><soap:Body>', context())
    expect(bad).toMatchObject({ status: 500, code: 'ErrorSchemaValidation' })
    expect(ews('<a/>', context()).code).toBe('ErrorSchemaValidation')
  })

  it('fails every response message with an injected response code, and without a mailbox', () => {
    const busy = ews(findItem('inbox'), context({ responseCode: 'ErrorServerBusy' }))
    expect(busy.code).toBe('ErrorServerBusy')
    expect(messages(busy.xml)[0]?.attrs.ResponseClass).toBe('Error')
    expect(ews(findItem('inbox'), context({ mailbox: undefined })).code).toBe('ErrorNonExistentMailbox')
  })
})

describe('EWS as Exchange 2007 SP1 answers version probes and id conversions', () => {
  it('refuses a RequestServerVersion it does not know with ErrorInvalidServerVersion', () => {
    const answer = ews(
      envelope('<m:GetFolder/>').replace('Version="Exchange2007_SP1"', 'Version="Exchange2013"'),
      context(),
    )
    expect(answer.status).toBe(500)
    expect(answer.code).toBe('ErrorInvalidServerVersion')
  })

  it('converts an item id to an entry id and back; a made-up id is malformed', () => {
    const ctx = context()
    const convert = (format: string, id: string, to: string): XmlElement | undefined =>
      path(
        parseXml(
          ews(
            envelope(
              `<m:ConvertId DestinationFormat="${to}"><m:SourceIds><t:AlternateId Format="${format}" Id="${id}" Mailbox="alice@contoso.test"/></m:SourceIds></m:ConvertId>`,
            ),
            ctx,
          ).xml,
        ),
        'Body',
        'ConvertIdResponse',
        'ResponseMessages',
        'ConvertIdResponseMessage',
      )
    const id = ctx.mailbox!.folder('contacts')[0]!.id
    const entry = path(convert('EwsId', id, 'HexEntryId'), 'AlternateId')?.attrs.Id ?? ''
    expect(entry).toMatch(/^[0-9A-F]+$/)
    expect(path(convert('HexEntryId', entry, 'EwsId'), 'AlternateId')?.attrs.Id).toBe(id)
    expect(path(convert('EwsId', 'DUMMY', 'EntryId'), 'ResponseCode')?.text).toBe('ErrorInvalidIdMalformed')
  })

  it('answers an IndexedFieldURI with that entry of the dictionary only when asked', () => {
    const contacts = (extra: string): string =>
      ews(
        findItem('contacts', '').replace(
          '<t:BaseShape>Default</t:BaseShape>',
          `<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>${extra}</t:AdditionalProperties>`,
        ),
        context(),
      ).xml
    const asked = contacts(
      '<t:IndexedFieldURI FieldURI="contacts:EmailAddress" FieldIndex="EmailAddress1"/><t:IndexedFieldURI FieldURI="contacts:PhoneNumber" FieldIndex="BusinessPhone"/>',
    )
    expect(asked).toContain('bob@contoso.test')
    expect(asked).toContain('+15550100')
    const other = contacts('<t:IndexedFieldURI FieldURI="contacts:PhoneNumber" FieldIndex="MobilePhone"/>')
    expect(other).not.toContain('+15550100')
    expect(other).not.toContain('bob@contoso.test')
  })
})

describe('EWS folders as an Exchange 2007 SP1 mailbox keeps them, and xs:boolean', () => {
  const DISTINGUISHED = [
    'root',
    'msgfolderroot',
    'calendar',
    'contacts',
    'deleteditems',
    'drafts',
    'inbox',
    'journal',
    'junkemail',
    'notes',
    'outbox',
    'sentitems',
    'tasks',
    'searchfolders',
    'voicemail',
  ]
  const findFolder = (traversal: string, parent: string, view = ''): XmlElement[] =>
    messages(
      ews(
        envelope(`<m:FindFolder Traversal="${traversal}"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>
        <t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:ParentFolderId"/>
        </t:AdditionalProperties></m:FolderShape>${view}
        <m:ParentFolderIds><t:DistinguishedFolderId Id="${parent}"/></m:ParentFolderIds></m:FindFolder>`),
        context(),
      ).xml,
    )

  it('GetFolder answers every distinguished folder, each as its own kind of folder', () => {
    const ids = DISTINGUISHED.map((d) => `<t:DistinguishedFolderId Id="${d}"/>`).join('')
    const a = ews(
      envelope(`<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>
      <m:FolderIds>${ids}</m:FolderIds></m:GetFolder>`),
      context(),
    )
    expect(a.code).toBe('NoError')
    const folders = messages(a.xml).map((m) => path(m, 'Folders')!.children[0]!)
    expect(folders.map((f) => path(f, 'DisplayName')?.text)).toEqual([
      '',
      'Top of Information Store',
      'Calendar',
      'Contacts',
      'Deleted Items',
      'Drafts',
      'Inbox',
      'Journal',
      'Junk E-mail',
      'Notes',
      'Outbox',
      'Sent Items',
      'Tasks',
      'Finder',
      'Voice Mail',
    ])
    expect(folders[2]?.name).toBe('CalendarFolder')
    expect(folders[12]?.name).toBe('TasksFolder')
    // The Default shape has no FolderClass or ParentFolderId.
    expect(path(folders[6], 'FolderClass')).toBeUndefined()
  })

  it('FindFolder: Shallow lists children, Deep the whole tree with parents, paged by IndexedPageFolderView', () => {
    const shallow = children(path(findFolder('Shallow', 'root')[0], 'RootFolder', 'Folders'))
    expect(shallow.map((f) => path(f, 'DisplayName')?.text)).toEqual(['Top of Information Store', 'Finder'])
    const deep = findFolder('Deep', 'root')[0]
    const all = children(path(deep, 'RootFolder', 'Folders'))
    expect(all).toHaveLength(DISTINGUISHED.length - 1)
    expect(path(deep, 'RootFolder')?.attrs).toMatchObject({
      TotalItemsInView: '14',
      IncludesLastItemInRange: 'true',
    })
    const byName = new Map(all.map((f) => [path(f, 'DisplayName')?.text, f]))
    const parentOf = (name: string): string | undefined => path(byName.get(name), 'ParentFolderId')?.attrs.Id
    expect(parentOf('Voice Mail')).toBe(path(byName.get('Finder'), 'FolderId')?.attrs.Id)
    expect(parentOf('Inbox')).toBe(path(byName.get('Top of Information Store'), 'FolderId')?.attrs.Id)
    // IdOnly: the id and what AdditionalProperties named, nothing else.
    expect(byName.get('Inbox')?.children.map((c) => c.name)).toEqual([
      'FolderId',
      'ParentFolderId',
      'DisplayName',
    ])
    const page = path(
      findFolder(
        'Deep',
        'root',
        '<m:IndexedPageFolderView MaxEntriesReturned="5" Offset="10" BasePoint="Beginning"/>',
      )[0],
      'RootFolder',
    )
    expect(page?.attrs).toMatchObject({ IndexedPagingOffset: '14', TotalItemsInView: '14' })
    expect(children(path(page, 'Folders'))).toHaveLength(4)
    expect(children(path(findFolder('Shallow', 'inbox')[0], 'RootFolder', 'Folders'))).toHaveLength(0)
  })

  it('a CalendarView finds the meetings that overlap it, by start, as CalendarItems', () => {
    const view = (from: string, to: string): XmlElement[] =>
      items(
        messages(
          ews(findItem('calendar', '', `<m:CalendarView StartDate="${from}" EndDate="${to}"/>`), context())
            .xml,
        )[0],
      )
    const both = view('2026-11-25T00:00:00Z', '2026-11-27T00:00:00Z')
    expect(
      both.map((i) => [i.name, path(i, 'Subject')?.text, path(i, 'Start')?.text, path(i, 'End')?.text]),
    ).toEqual([
      ['CalendarItem', 'Stand-up', '2026-11-25T09:00:00Z', '2026-11-25T09:15:00Z'],
      ['CalendarItem', 'Review', '2026-11-26T14:00:00Z', '2026-11-26T15:00:00Z'],
    ])
    expect(path(both[0], 'Location')?.text).toBe('Room 1')
    expect(path(both[0], 'IsRead')).toBeUndefined()
    // A meeting that ends as the view starts is not in it.
    expect(view('2026-11-25T09:15:00Z', '2026-11-26T00:00:00Z')).toHaveLength(0)
  })

  it('reads xs:boolean constants as XML Schema writes them: 0 and 1 as well as false and true', () => {
    const unread = (constant: string): number =>
      items(
        messages(
          ews(
            findItem(
              'inbox',
              `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="message:IsRead"/><t:FieldURIOrConstant><t:Constant Value="${constant}"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`,
            ),
            context(),
          ).xml,
        )[0],
      ).length
    expect(unread('false')).toBe(2)
    expect(unread('0')).toBe(2)
    expect(unread('1')).toBe(unread('true'))
    expect(unread('true')).toBe(1)
    expect(unread('maybe')).toBe(0)
  })
})
