import type { User } from '../../core/site.js'
import { soapFault } from './autodiscover.js'
import {
  children,
  path,
  soapRequest,
  x,
  xmlDocument,
  type XmlElement,
  type XmlMarkup,
} from '../../core/xml.js'
import { ITEM_CLASS, type Attachment, type MailItem, type Mailbox } from './mailbox.js'
import { fail, ok, type Message, type Outcome } from './ews-messages.js'
import { findFolder, folderId, folderOf, getFolder } from './ews-folders.js'

/**
 * Exchange Web Services 2007 SP1 (SOAP 1.1), pure: the operations the CX700 needs (spec §4.2) over the
 * scenario's mailboxes — FindItem (Contacts, Voice Mail, Inbox with a Restriction such as
 * item:ItemClass = IPM.Note.Microsoft.Missed.Voice; IndexedPageItemView paging; SortOrder), GetItem,
 * GetAttachment (the voice mail audio), ResolveNames, GetFolder, UpdateItem (message:IsRead) and DeleteItem.
 * Anything else is a SOAP fault carrying the EWS response code, as Exchange sends it.
 */

const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  types: 'http://schemas.microsoft.com/exchange/services/2006/types',
  messages: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  errors: 'http://schemas.microsoft.com/exchange/services/2006/errors',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xsd: 'http://www.w3.org/2001/XMLSchema',
} as const

export const EWS_OPERATIONS = [
  'FindItem',
  'GetItem',
  'GetAttachment',
  'ResolveNames',
  'GetFolder',
  'FindFolder',
  'UpdateItem',
  'DeleteItem',
  'ConvertId',
] as const
export type EwsOperation = (typeof EWS_OPERATIONS)[number]

/** The RequestServerVersion values Exchange 2007 SP1 takes (a request without one is Exchange2007). */
const SERVER_VERSIONS: readonly string[] = ['Exchange2007', 'Exchange2007_SP1']

export interface EwsContext {
  /** The signed-in user's mailbox (undefined: the credentials named no mailbox). */
  readonly mailbox: Mailbox | undefined
  /** The directory ResolveNames searches (the scenario's users). */
  readonly users: readonly User[]
  /** The bytes of a voice mail's audio. */
  readonly audio: (attachment: Attachment) => Buffer
  /** A fault: every response message fails with this EWS response code. */
  readonly responseCode?: string
}

export interface EwsAnswer {
  /** 200, or 500 with a SOAP fault (SOAP 1.1 over HTTP). */
  readonly status: 200 | 500
  readonly xml: string
  readonly operation: string
  /** For the journal. */
  readonly folder?: string
  readonly items?: number
  readonly code?: string
}

function envelope(body: XmlMarkup): string {
  return xmlDocument(
    x(
      'soap:Envelope',
      { 'xmlns:soap': NS.soap, 'xmlns:xsi': NS.xsi, 'xmlns:xsd': NS.xsd },
      x(
        'soap:Header',
        {},
        x('t:ServerVersionInfo', {
          MajorVersion: 8,
          MinorVersion: 1,
          MajorBuildNumber: 240,
          MinorBuildNumber: 6,
          Version: 'Exchange2007_SP1',
          'xmlns:t': NS.types,
        }),
      ),
      x('soap:Body', {}, body),
    ),
  )
}

function responseMessage(op: string, m: Message): XmlMarkup {
  const name = `m:${op}ResponseMessage`
  if (!m.ok)
    return x(
      name,
      { ResponseClass: 'Error' },
      x('m:MessageText', {}, m.text),
      x('m:ResponseCode', {}, m.code),
      x('m:DescriptiveLinkKey', {}, 0),
    )
  return x(
    name,
    { ResponseClass: m.warning ? 'Warning' : 'Success' },
    m.warning ? x('m:MessageText', {}, 'Multiple results were found.') : undefined,
    x('m:ResponseCode', {}, m.warning ?? 'NoError'),
    m.warning ? x('m:DescriptiveLinkKey', {}, 0) : undefined,
    m.content,
  )
}

function response(op: string, messages: readonly Message[]): string {
  return envelope(
    x(
      `m:${op}Response`,
      { 'xmlns:m': NS.messages, 'xmlns:t': NS.types },
      x(
        'm:ResponseMessages',
        {},
        messages.map((m) => responseMessage(op, m)),
      ),
    ),
  )
}

/** The fault Exchange sends for a request it cannot take at all. */
export function ewsFault(code: string, text: string): string {
  return soapFault('soap:Client', text, [
    x('e:ResponseCode', { 'xmlns:e': NS.errors }, code),
    x('e:Message', { 'xmlns:e': NS.errors }, text),
  ])
}

// ---- ids -------------------------------------------------------------------------------------------------

const itemIdOf = (item: MailItem): XmlMarkup =>
  x('t:ItemId', { Id: item.id, ChangeKey: `CQAAAB${String(item.version).padStart(6, '0')}` })

// ---- item properties ---------------------------------------------------------------------------------------

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z')

type Shape = 'IdOnly' | 'Default' | 'AllProperties'

/** The one entry a contact's dictionary properties hold here: its e-mail address and its phone number. */
const ENTRY_KEY = {
  'contacts:EmailAddresses': 'EmailAddress1',
  'contacts:PhoneNumbers': 'BusinessPhone',
} as const

/** Whether a shape asks for a dictionary property's entry by IndexedFieldURI. */
function indexedWanted(shape: ItemShape, uri: string): boolean {
  const key = (ENTRY_KEY as Readonly<Record<string, string>>)[uri]
  return key !== undefined && shape.additional.has(`${uri}/${key}`)
}

/** The properties of an item, by FieldURI, in the order the EWS schema puts them. */
function itemProperties(item: MailItem, body: boolean): [string, XmlMarkup | undefined][] {
  const isContact = item.kind === 'contact'
  const isMessage = !isContact && item.kind !== 'appointment'
  const from = item.from
  const mailbox = from
    ? x(
        't:Mailbox',
        {},
        x('t:Name', {}, from.name),
        from.email ? [x('t:EmailAddress', {}, from.email), x('t:RoutingType', {}, 'SMTP')] : undefined,
      )
    : undefined
  const size = item.durationSeconds !== undefined ? 2_000 + item.durationSeconds * 16_000 : 1_200
  const headers = !isMessage
    ? undefined
    : x(
        't:InternetMessageHeaders',
        {},
        from?.phone
          ? x('t:InternetMessageHeader', { HeaderName: 'X-CallingTelephoneNumber' }, from.phone)
          : undefined,
        x('t:InternetMessageHeader', { HeaderName: 'X-VoiceMessageSenderName' }, from?.name ?? ''),
        item.durationSeconds !== undefined
          ? x('t:InternetMessageHeader', { HeaderName: 'X-VoiceMessageDuration' }, item.durationSeconds)
          : undefined,
      )
  const [given = '', ...rest] = (from?.name ?? '').split(' ')
  return [
    ['item:ParentFolderId', x('t:ParentFolderId', { Id: folderId(item.folder), ChangeKey: 'AQAAAA==' })],
    ['item:ItemClass', x('t:ItemClass', {}, item.itemClass)],
    ['item:Subject', x('t:Subject', {}, item.subject)],
    ['item:Sensitivity', x('t:Sensitivity', {}, 'Normal')],
    ['item:Body', body ? x('t:Body', { BodyType: 'Text' }, item.body) : undefined],
    [
      'item:Attachments',
      body && item.attachment
        ? x(
            't:Attachments',
            {},
            x(
              't:FileAttachment',
              {},
              x('t:AttachmentId', { Id: item.attachment.id }),
              x('t:Name', {}, item.attachment.name),
              x('t:ContentType', {}, item.attachment.contentType),
            ),
          )
        : undefined,
    ],
    ['item:DateTimeReceived', x('t:DateTimeReceived', {}, iso(item.received))],
    ['item:Size', x('t:Size', {}, size)],
    ['item:Importance', x('t:Importance', {}, 'Normal')],
    ['item:InternetMessageHeaders', body ? headers : undefined],
    ['item:DateTimeSent', x('t:DateTimeSent', {}, iso(item.received))],
    ['item:DateTimeCreated', x('t:DateTimeCreated', {}, iso(item.received))],
    ['item:HasAttachments', x('t:HasAttachments', {}, item.attachment !== undefined)],
    ['message:Sender', isMessage && mailbox ? x('t:Sender', {}, mailbox) : undefined],
    ['message:From', isMessage && mailbox ? x('t:From', {}, mailbox) : undefined],
    ['message:IsRead', isMessage ? x('t:IsRead', {}, item.isRead) : undefined],
    ...appointmentProperties(item),
    ['contacts:FileAs', isContact ? x('t:FileAs', {}, from?.name ?? '') : undefined],
    ['contacts:DisplayName', isContact ? x('t:DisplayName', {}, from?.name ?? '') : undefined],
    ['contacts:GivenName', isContact ? x('t:GivenName', {}, given) : undefined],
    [
      'contacts:EmailAddresses',
      isContact && from?.email
        ? x('t:EmailAddresses', {}, x('t:Entry', { Key: ENTRY_KEY['contacts:EmailAddresses'] }, from.email))
        : undefined,
    ],
    [
      'contacts:PhoneNumbers',
      isContact && from?.phone
        ? x('t:PhoneNumbers', {}, x('t:Entry', { Key: ENTRY_KEY['contacts:PhoneNumbers'] }, from.phone))
        : undefined,
    ],
    ['contacts:Surname', isContact && rest.length > 0 ? x('t:Surname', {}, rest.join(' ')) : undefined],
  ]
}

/** A calendar item's own properties ([MS-OXWSCORE] CalendarItemType), in the schema's order. */
function appointmentProperties(item: MailItem): [string, XmlMarkup | undefined][] {
  const a = item.appointment
  if (!a) return []
  return [
    ['calendar:Start', x('t:Start', {}, iso(a.start))],
    ['calendar:End', x('t:End', {}, iso(a.end))],
    ['calendar:IsAllDayEvent', x('t:IsAllDayEvent', {}, false)],
    ['calendar:LegacyFreeBusyStatus', x('t:LegacyFreeBusyStatus', {}, 'Busy')],
    ['calendar:Location', x('t:Location', {}, a.location)],
    ['calendar:IsMeeting', x('t:IsMeeting', {}, false)],
    ['calendar:IsCancelled', x('t:IsCancelled', {}, false)],
    ['calendar:IsRecurring', x('t:IsRecurring', {}, false)],
    ['calendar:CalendarItemType', x('t:CalendarItemType', {}, 'Single')],
    ['calendar:MyResponseType', x('t:MyResponseType', {}, 'Organizer')],
  ]
}

const DEFAULT_FIELDS = new Set([
  'calendar:Start',
  'calendar:End',
  'calendar:Location',
  'calendar:LegacyFreeBusyStatus',
  'calendar:CalendarItemType',
  'item:ParentFolderId',
  'item:ItemClass',
  'item:Subject',
  'item:DateTimeReceived',
  'item:Size',
  'item:HasAttachments',
  'message:From',
  'message:IsRead',
  'contacts:DisplayName',
  'contacts:GivenName',
  'contacts:Surname',
  'contacts:FileAs',
  'contacts:EmailAddresses',
  'contacts:PhoneNumbers',
])

interface ItemShape {
  readonly base: Shape
  /** FieldURIs, and for an IndexedFieldURI its dictionary's FieldURI with the key (contacts:EmailAddresses/EmailAddress1). */
  readonly additional: ReadonlySet<string>
}

/** The dictionary property an IndexedFieldURI names an entry of (contacts:EmailAddress → contacts:EmailAddresses). */
const INDEXED: Readonly<Record<string, string>> = {
  'contacts:EmailAddress': 'contacts:EmailAddresses',
  'contacts:PhoneNumber': 'contacts:PhoneNumbers',
  'contacts:PhysicalAddress': 'contacts:PhysicalAddresses',
  'contacts:ImAddress': 'contacts:ImAddresses',
}

function shapeOf(el: XmlElement | undefined): ItemShape {
  const base = (path(el, 'BaseShape')?.text ?? 'Default') as Shape
  const additional = new Set<string>()
  for (const p of children(path(el, 'AdditionalProperties'))) {
    const uri = p.attrs.FieldURI
    if (!uri) continue
    const dictionary = p.name === 'IndexedFieldURI' ? INDEXED[uri] : undefined
    additional.add(dictionary !== undefined ? `${dictionary}/${p.attrs.FieldIndex ?? ''}` : uri)
  }
  return { base: ['IdOnly', 'Default', 'AllProperties'].includes(base) ? base : 'Default', additional }
}

/** An item as FindItem (no body) or GetItem (body, attachments, headers) returns it, in a shape. */
function itemXml(item: MailItem, shape: ItemShape, withBody: boolean): XmlMarkup {
  const element =
    item.itemClass === ITEM_CLASS.contact
      ? 't:Contact'
      : item.itemClass === ITEM_CLASS.appointment
        ? 't:CalendarItem'
        : 't:Message'
  const wanted = (uri: string): boolean =>
    shape.base === 'AllProperties' ||
    (shape.base === 'Default' && DEFAULT_FIELDS.has(uri)) ||
    shape.additional.has(uri) ||
    indexedWanted(shape, uri) ||
    // GetItem's Default shape includes the body and attachments, as Exchange's does.
    (withBody && shape.base === 'Default' && (uri === 'item:Body' || uri === 'item:Attachments'))
  return x(
    element,
    {},
    itemIdOf(item),
    itemProperties(item, withBody)
      .filter(([uri, v]) => v !== undefined && wanted(uri))
      .map(([, v]) => v),
  )
}

// ---- restrictions --------------------------------------------------------------------------------------------

class Unsupported extends Error {}

function fieldValue(item: MailItem, uri: string): string | undefined {
  switch (uri) {
    case 'item:ItemClass':
      return item.itemClass
    case 'item:Subject':
      return item.subject
    case 'message:IsRead':
      return String(item.isRead)
    case 'item:HasAttachments':
      return String(item.attachment !== undefined)
    case 'item:DateTimeReceived':
      return iso(item.received)
    case 'calendar:Start':
      return item.appointment && iso(item.appointment.start)
    case 'calendar:End':
      return item.appointment && iso(item.appointment.end)
    default:
      throw new Unsupported(uri)
  }
}

function constantOf(el: XmlElement): string {
  return path(el, 'FieldURIOrConstant', 'Constant')?.attrs.Value ?? path(el, 'Constant')?.attrs.Value ?? ''
}

function fieldOf(el: XmlElement): string {
  const f = el.children.find((c) => c.name === 'FieldURI' || c.name === 'IndexedFieldURI')
  return f?.attrs.FieldURI ?? ''
}

/** The properties that are xs:boolean, whose constants may be written true/false or 1/0 (XML Schema §3.2.2). */
const BOOLEAN_FIELDS = new Set(['message:IsRead', 'item:HasAttachments'])

/** An xs:boolean's value ("true", "1" → true; "false", "0" → false); anything else is no boolean. */
export function xsBoolean(text: string | undefined): boolean | undefined {
  const t = (text ?? '').trim()
  return t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : undefined
}

/** Evaluates the search expressions the double supports on the properties it can compare. */
function matches(item: MailItem, el: XmlElement): boolean {
  switch (el.name) {
    case 'And':
      return el.children.every((c) => matches(item, c))
    case 'Or':
      return el.children.some((c) => matches(item, c))
    case 'Not':
      return !el.children.every((c) => matches(item, c))
    case 'Exists':
      return fieldValue(item, fieldOf(el)) !== undefined
    case 'IsEqualTo':
    case 'IsNotEqualTo': {
      const field = fieldOf(el)
      const v = fieldValue(item, field)
      const c = constantOf(el)
      const eq = BOOLEAN_FIELDS.has(field)
        ? xsBoolean(v) === xsBoolean(c)
        : field.startsWith('item:DateTime') || field.startsWith('calendar:')
          ? Date.parse(v ?? '') === Date.parse(c)
          : (v ?? '').toLowerCase() === c.toLowerCase()
      return el.name === 'IsEqualTo' ? eq : !eq
    }
    case 'IsGreaterThan':
    case 'IsGreaterThanOrEqualTo':
    case 'IsLessThan':
    case 'IsLessThanOrEqualTo': {
      const a = Date.parse(fieldValue(item, fieldOf(el)) ?? '')
      const b = Date.parse(constantOf(el))
      if (Number.isNaN(a) || Number.isNaN(b)) throw new Unsupported(fieldOf(el))
      if (el.name === 'IsGreaterThan') return a > b
      if (el.name === 'IsGreaterThanOrEqualTo') return a >= b
      if (el.name === 'IsLessThan') return a < b
      return a <= b
    }
    case 'Contains': {
      const mode = el.attrs.ContainmentMode ?? 'Substring'
      const ignoreCase = (el.attrs.ContainmentComparison ?? 'Exact').includes('IgnoreCase')
      let v = fieldValue(item, fieldOf(el)) ?? ''
      let c = constantOf(el)
      if (ignoreCase) {
        v = v.toLowerCase()
        c = c.toLowerCase()
      }
      if (mode === 'FullString') return v === c
      if (mode === 'Prefixed' || mode === 'PrefixOnWords') return v.startsWith(c)
      return v.includes(c)
    }
    default:
      throw new Unsupported(el.name)
  }
}

// ---- operations ------------------------------------------------------------------------------------------------

function findItem(op: XmlElement, box: Mailbox): Outcome {
  const shape = shapeOf(path(op, 'ItemShape'))
  const view = path(op, 'IndexedPageItemView')
  const restriction = path(op, 'Restriction')?.children[0]
  const sort = children(path(op, 'SortOrder'), 'FieldOrder')[0]
  const folders = children(path(op, 'ParentFolderIds'))
  const names: string[] = []
  let count = 0
  const messages = folders.map((f): Message => {
    const name = folderOf(f)
    names.push(name ?? f.attrs.Id ?? '?')
    if (!name) return fail('ErrorFolderNotFound', 'The specified folder could not be found in the store.')
    let items = box.folder(name)
    try {
      if (restriction) items = items.filter((i) => matches(i, restriction))
      if (sort) {
        const field = fieldOf(sort)
        const sign = sort.attrs.Order === 'Ascending' ? 1 : -1
        items = [...items].sort((a, b) =>
          (fieldValue(a, field) ?? '') < (fieldValue(b, field) ?? '') ? -sign : sign,
        )
      }
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err
      return fail('ErrorUnsupportedPathForQuery', `The lab's EWS double cannot query ${err.message}.`)
    }
    const calendar = path(op, 'CalendarView')
    if (calendar) {
      const page = calendarView(items, calendar)
      count += page.shown.length
      return ok(
        x(
          'm:RootFolder',
          { TotalItemsInView: page.total, IncludesLastItemInRange: page.shown.length === page.total },
          x(
            't:Items',
            {},
            page.shown.map((i) => itemXml(i, shape, false)),
          ),
        ),
      )
    }
    const total = items.length
    const offset = Math.max(0, Number(view?.attrs.Offset ?? 0) || 0)
    const max = view?.attrs.MaxEntriesReturned !== undefined ? Number(view.attrs.MaxEntriesReturned) : total
    const fromEnd = view?.attrs.BasePoint === 'End'
    const start = fromEnd ? Math.max(0, total - offset - max) : Math.min(offset, total)
    const end = fromEnd ? Math.max(0, total - offset) : Math.min(total, start + Math.max(0, max))
    const page = items.slice(start, end)
    count += page.length
    return ok(
      x(
        'm:RootFolder',
        {
          IndexedPagingOffset: fromEnd ? offset + page.length : end,
          TotalItemsInView: total,
          IncludesLastItemInRange: fromEnd ? start === 0 : end >= total,
        },
        x(
          't:Items',
          {},
          page.map((i) => itemXml(i, shape, false)),
        ),
      ),
    )
  })
  return { messages, folder: names.join(','), items: count }
}

/**
 * A CalendarView ([MS-OXWSSRCH]): the calendar items that overlap [StartDate, EndDate), by start, at most
 * MaxEntriesReturned of them.
 */
function calendarView(items: readonly MailItem[], view: XmlElement): { shown: MailItem[]; total: number } {
  const from = Date.parse(view.attrs.StartDate ?? '')
  const to = Date.parse(view.attrs.EndDate ?? '')
  const inView = items
    .filter((i) => i.appointment && i.appointment.start.getTime() < to && i.appointment.end.getTime() > from)
    .sort((a, b) => a.appointment!.start.getTime() - b.appointment!.start.getTime())
  const max =
    view.attrs.MaxEntriesReturned !== undefined ? Number(view.attrs.MaxEntriesReturned) : inView.length
  return { shown: inView.slice(0, Math.max(0, max)), total: inView.length }
}

function itemIds(op: XmlElement): string[] {
  return children(path(op, 'ItemIds'), 'ItemId').map((i) => i.attrs.Id ?? '')
}

const NOT_FOUND = (): Message => fail('ErrorItemNotFound', 'The specified object was not found in the store.')

function getItem(op: XmlElement, box: Mailbox): Outcome {
  const shape = shapeOf(path(op, 'ItemShape'))
  const messages = itemIds(op).map((id) => {
    const item = box.item(id)
    return item ? ok(x('m:Items', {}, itemXml(item, shape, true))) : NOT_FOUND()
  })
  return { messages, items: messages.filter((m) => m.ok).length }
}

function getAttachment(op: XmlElement, box: Mailbox, audio: EwsContext['audio']): Outcome {
  const ids = children(path(op, 'AttachmentIds'), 'AttachmentId').map((a) => a.attrs.Id ?? '')
  const messages = ids.map((id) => {
    const found = box.attachment(id)
    if (!found) return fail('ErrorInvalidAttachmentId', 'The attachment could not be found.')
    const a = found.attachment
    return ok(
      x(
        'm:Attachments',
        {},
        x(
          't:FileAttachment',
          {},
          x('t:AttachmentId', { Id: a.id }),
          x('t:Name', {}, a.name),
          x('t:ContentType', {}, a.contentType),
          x('t:Content', {}, audio(a).toString('base64')),
        ),
      ),
    )
  })
  return { messages, items: messages.filter((m) => m.ok).length }
}

function resolveNames(op: XmlElement, box: Mailbox, users: readonly User[]): Outcome {
  const wanted = (path(op, 'UnresolvedEntry')?.text ?? '').toLowerCase().replace(/^(smtp|sip):/, '')
  const hits: { name: string; email: string; type: 'Mailbox' | 'Contact' }[] = []
  if (wanted !== '') {
    for (const u of users)
      if (
        [u.displayName, u.email, u.signInAddress, u.userName].some((v) => v.toLowerCase().startsWith(wanted))
      )
        hits.push({ name: u.displayName, email: u.email, type: 'Mailbox' })
    for (const c of box.folder('contacts'))
      if (
        [c.from?.name ?? '', c.from?.email ?? ''].some((v) => v !== '' && v.toLowerCase().startsWith(wanted))
      )
        hits.push({ name: c.from?.name ?? '', email: c.from?.email ?? '', type: 'Contact' })
  }
  if (hits.length === 0)
    return { messages: [fail('ErrorNameResolutionNoResults', 'No results were found.')], items: 0 }
  const set = x(
    'm:ResolutionSet',
    { TotalItemsInView: hits.length, IncludesLastItemInRange: true },
    hits.map((h) =>
      x(
        't:Resolution',
        {},
        x(
          't:Mailbox',
          {},
          x('t:Name', {}, h.name),
          h.email ? x('t:EmailAddress', {}, h.email) : undefined,
          x('t:RoutingType', {}, 'SMTP'),
          x('t:MailboxType', {}, h.type),
        ),
      ),
    ),
  )
  const message: Message =
    hits.length > 1
      ? { ok: true, content: [set], warning: 'ErrorNameResolutionMultipleResults' }
      : { ok: true, content: [set] }
  return { messages: [message], items: hits.length }
}

function updateItem(op: XmlElement, box: Mailbox): Outcome {
  const messages = children(path(op, 'ItemChanges'), 'ItemChange').map((change) => {
    const id = path(change, 'ItemId')?.attrs.Id ?? ''
    if (!box.item(id)) return NOT_FOUND()
    let item: MailItem | undefined
    for (const u of children(path(change, 'Updates'))) {
      const field = fieldOf(u)
      const value = u.name === 'SetItemField' ? path(u, 'Message', 'IsRead')?.text : undefined
      if (field !== 'message:IsRead' || value === undefined)
        return fail(
          'ErrorInvalidPropertySet',
          `The lab's EWS double updates message:IsRead only, not ${field}.`,
        )
      const read = xsBoolean(value)
      if (read === undefined)
        return fail('ErrorInvalidValueForProperty', `message:IsRead takes an xs:boolean, not "${value}".`)
      item = box.markRead(id, read)
    }
    const updated = item ?? box.item(id)!
    return ok(x('m:Items', {}, x('t:Message', {}, itemIdOf(updated))))
  })
  return { messages, items: messages.filter((m) => m.ok).length }
}

function deleteItem(op: XmlElement, box: Mailbox): Outcome {
  const how = op.attrs.DeleteType === 'MoveToDeletedItems' ? 'move' : 'hard'
  const messages = itemIds(op).map((id) => (box.delete(id, how) ? ok() : NOT_FOUND()))
  return { messages, items: messages.filter((m) => m.ok).length }
}

/** The forms ConvertId converts between (Exchange 2007 SP1, IdFormatType) that the lab's ids have. */
const ID_FORMATS = ['EwsId', 'EwsLegacyId', 'EntryId', 'HexEntryId'] as const
type IdFormat = (typeof ID_FORMATS)[number]

/** A lab item id in another form: EWS ids as they are, an entry id as the id's octets (base64 or hex). */
function idIn(format: IdFormat, id: string): string {
  if (format === 'EntryId') return Buffer.from(id, 'utf8').toString('base64')
  if (format === 'HexEntryId') return Buffer.from(id, 'utf8').toString('hex').toUpperCase()
  return id
}

function idFrom(format: string, id: string): string | undefined {
  if (format === 'EwsId' || format === 'EwsLegacyId') return id
  if (format === 'EntryId') return Buffer.from(id, 'base64').toString('utf8')
  if (format === 'HexEntryId' && /^[0-9a-f]*$/i.test(id)) return Buffer.from(id, 'hex').toString('utf8')
  return undefined
}

/** ConvertId: each AlternateId of the mailbox in the destination format; anything else is malformed. */
function convertId(op: XmlElement, box: Mailbox): Outcome {
  const to = op.attrs.DestinationFormat ?? ''
  const messages = children(path(op, 'SourceIds')).map((source) => {
    const id = idFrom(source.attrs.Format ?? '', source.attrs.Id ?? '')
    const known = id !== undefined && (box.item(id) !== undefined || box.attachment(id) !== undefined)
    if (!known || !(ID_FORMATS as readonly string[]).includes(to))
      return fail('ErrorInvalidIdMalformed', 'Id is malformed.')
    return ok(
      x('m:AlternateId', {
        'xsi:type': 't:AlternateIdType',
        Format: to,
        Id: idIn(to as IdFormat, id),
        Mailbox: source.attrs.Mailbox ?? box.user.email,
      }),
    )
  })
  return { messages }
}

const OPERATIONS: Readonly<Record<EwsOperation, (op: XmlElement, box: Mailbox, ctx: EwsContext) => Outcome>> =
  {
    FindItem: (op, box) => findItem(op, box),
    GetItem: (op, box) => getItem(op, box),
    GetAttachment: (op, box, ctx) => getAttachment(op, box, ctx.audio),
    ResolveNames: (op, box, ctx) => resolveNames(op, box, ctx.users),
    GetFolder: (op, box) => getFolder(op, box),
    FindFolder: (op, box) => findFolder(op, box),
    UpdateItem: (op, box) => updateItem(op, box),
    DeleteItem: (op, box) => deleteItem(op, box),
    ConvertId: (op, box) => convertId(op, box),
  }

/** Answers one EWS request body. */
export function ews(body: string | XmlElement, ctx: EwsContext): EwsAnswer {
  const request = soapRequest(body)
  if (!('op' in request))
    return {
      status: 500,
      operation: '-',
      code: 'ErrorSchemaValidation',
      xml: ewsFault('ErrorSchemaValidation', `The request failed schema validation: ${request.problem}`),
    }
  const { op, header } = request
  const version = path(header, 'RequestServerVersion')?.attrs.Version
  if (version !== undefined && !SERVER_VERSIONS.includes(version))
    return {
      status: 500,
      operation: op.name,
      code: 'ErrorInvalidServerVersion',
      xml: ewsFault('ErrorInvalidServerVersion', 'The specified server version is invalid.'),
    }
  const name = op.name
  if (!(EWS_OPERATIONS as readonly string[]).includes(name))
    return {
      status: 500,
      operation: name,
      code: 'ErrorInvalidRequest',
      xml: ewsFault('ErrorInvalidRequest', `The lab's EWS double does not implement ${name}.`),
    }
  const operation = name as EwsOperation
  const box = ctx.mailbox
  if (!box || ctx.responseCode !== undefined) {
    const code = ctx.responseCode ?? 'ErrorNonExistentMailbox'
    const text = ctx.responseCode ? 'Fault injected by the lab.' : 'No mailbox with such a user exists.'
    return { status: 200, operation, code, xml: response(operation, [fail(code, text)]) }
  }
  const outcome = OPERATIONS[operation](op, box, ctx)
  const firstError = outcome.messages.find((m): m is Extract<Message, { ok: false }> => !m.ok)
  return {
    status: 200,
    operation,
    xml: response(operation, outcome.messages),
    ...(outcome.folder !== undefined ? { folder: outcome.folder } : {}),
    ...(outcome.items !== undefined ? { items: outcome.items } : {}),
    code: firstError?.code ?? 'NoError',
  }
}
