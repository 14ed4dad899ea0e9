import { children, path, x, type XmlElement, type XmlMarkup } from '../../core/xml.js'
import { fail, ok, type Outcome } from './ews-messages.js'
import { FOLDERS, subfolders, type FolderName, type Mailbox } from './mailbox.js'

/**
 * EWS 2007 SP1's folder operations over the mailbox's distinguished folders, pure: GetFolder and FindFolder
 * (Shallow and Deep traversal, IndexedPageFolderView paging), each folder in the shape asked for (IdOnly,
 * Default or AllProperties, plus AdditionalProperties), as its own element (Folder, CalendarFolder,
 * ContactsFolder, SearchFolder, TasksFolder).
 */

export const folderId = (name: FolderName): string => Buffer.from(`lab-folder:${name}`).toString('base64')

const isFolder = (name: string): name is FolderName => Object.hasOwn(FOLDERS, name)

/** The folder a DistinguishedFolderId or FolderId names (undefined: no such folder). */
export function folderOf(el: XmlElement): FolderName | undefined {
  if (el.name === 'DistinguishedFolderId') {
    const id = el.attrs.Id ?? ''
    return isFolder(id) ? id : undefined
  }
  if (el.name === 'FolderId') {
    const name = Buffer.from(el.attrs.Id ?? '', 'base64')
      .toString('latin1')
      .replace(/^lab-folder:/, '')
    return isFolder(name) ? name : undefined
  }
  return undefined
}

const NOT_FOUND = 'The specified folder could not be found in the store.'

/** The FieldURIs a FolderShape asks for ([MS-OXWSFOLD]: Default is id, name and the three counts). */
function folderShape(el: XmlElement | undefined): (uri: string) => boolean {
  const base = path(el, 'BaseShape')?.text ?? 'Default'
  const extra = new Set(children(path(el, 'AdditionalProperties')).map((p) => p.attrs.FieldURI ?? ''))
  const DEFAULT = ['folder:DisplayName', 'folder:TotalCount', 'folder:ChildFolderCount', 'folder:UnreadCount']
  return (uri) => base === 'AllProperties' || extra.has(uri) || (base === 'Default' && DEFAULT.includes(uri))
}

/** One folder as EWS writes it, its properties in the schema's order. */
function folderXml(name: FolderName, box: Mailbox, wanted: (uri: string) => boolean): XmlMarkup {
  const meta = FOLDERS[name]
  const items = box.folder(name)
  const hasUnread = meta.element !== 'ContactsFolder' && meta.element !== 'CalendarFolder'
  const props: [string, XmlMarkup | undefined][] = [
    [
      'folder:ParentFolderId',
      meta.parent ? x('t:ParentFolderId', { Id: folderId(meta.parent), ChangeKey: 'AQAAAA==' }) : undefined,
    ],
    ['folder:FolderClass', meta.className !== undefined ? x('t:FolderClass', {}, meta.className) : undefined],
    ['folder:DisplayName', x('t:DisplayName', {}, meta.displayName)],
    ['folder:TotalCount', x('t:TotalCount', {}, items.length)],
    ['folder:ChildFolderCount', x('t:ChildFolderCount', {}, subfolders(name).length)],
    [
      'folder:UnreadCount',
      hasUnread ? x('t:UnreadCount', {}, items.filter((i) => !i.isRead).length) : undefined,
    ],
  ]
  return x(
    `t:${meta.element}`,
    {},
    x('t:FolderId', { Id: folderId(name), ChangeKey: 'AQAAAA==' }),
    props.filter(([uri, v]) => v !== undefined && wanted(uri)).map(([, v]) => v),
  )
}

export function getFolder(op: XmlElement, box: Mailbox): Outcome {
  const wanted = folderShape(path(op, 'FolderShape'))
  const names: string[] = []
  const messages = children(path(op, 'FolderIds')).map((f) => {
    const name = folderOf(f)
    names.push(name ?? f.attrs.Id ?? '?')
    if (!name) return fail('ErrorFolderNotFound', NOT_FOUND)
    return ok(x('m:Folders', {}, folderXml(name, box, wanted)))
  })
  return { messages, folder: names.join(',') }
}

/** The folders below `name`: its children (Shallow), or its whole subtree, depth first (Deep). */
function below(name: FolderName, deep: boolean): FolderName[] {
  return subfolders(name).flatMap((f) => (deep ? [f, ...below(f, true)] : [f]))
}

/** FindFolder: the subfolders of each parent folder, paged as IndexedPageFolderView asks. */
export function findFolder(op: XmlElement, box: Mailbox): Outcome {
  const wanted = folderShape(path(op, 'FolderShape'))
  const deep = op.attrs.Traversal === 'Deep'
  const view = path(op, 'IndexedPageFolderView')
  const names: string[] = []
  let count = 0
  const messages = children(path(op, 'ParentFolderIds')).map((f) => {
    const name = folderOf(f)
    names.push(name ?? f.attrs.Id ?? '?')
    if (!name) return fail('ErrorFolderNotFound', NOT_FOUND)
    const all = below(name, deep)
    const offset = Math.min(all.length, Math.max(0, Number(view?.attrs.Offset ?? 0) || 0))
    const max =
      view?.attrs.MaxEntriesReturned !== undefined ? Number(view.attrs.MaxEntriesReturned) : all.length
    const page = all.slice(offset, offset + Math.max(0, max))
    count += page.length
    const end = offset + page.length
    return ok(
      x(
        'm:RootFolder',
        {
          IndexedPagingOffset: end,
          TotalItemsInView: all.length,
          IncludesLastItemInRange: end >= all.length,
        },
        x(
          't:Folders',
          {},
          page.map((n) => folderXml(n, box, wanted)),
        ),
      ),
    )
  })
  return { messages, folder: names.join(','), items: count }
}
