import { createHash } from 'node:crypto'
import { parseXml, x, xmlDocument, type XmlElement } from '../../core/xml.js'

/**
 * The OCS 2007 R2 Device Update Service, pure (spec §6): what a `ucdevice.upx` request says about the
 * phone, which version to offer — the approved one (§6.2: administrators approve an update and devices fetch
 * it), or the newest pending one to a designated test device (F21) — the answer with BaseURL/ExternalBaseURL,
 * and stand-in update files. The request's element names are not
 * published (§10.7): any well-formed XML is read, by local names, wherever they are.
 */

export interface DusModule {
  readonly filename: string
  readonly version: string
  readonly timestamp: string
}

export interface DusRequest {
  readonly deviceType: string
  readonly mac: string
  readonly serial: string
  readonly vendor: string
  readonly model: string
  readonly revision: string
  readonly locale: string
  readonly modules: readonly DusModule[]
  readonly user: string
}

export interface DusConfig {
  /** The approved version every device is offered. */
  readonly approved: string
  readonly pending: readonly string[]
  readonly testDevices: readonly string[]
  readonly downloadUrls: 'set' | 'blank'
}

export interface DusDecision {
  readonly current: string
  readonly offered: string
  /** update: a newer version is offered; current: nothing newer; pending: a newer one exists, not approved. */
  readonly outcome: 'update' | 'current' | 'pending'
}

const find = (el: XmlElement, ...names: readonly string[]): XmlElement | undefined => {
  const want = names.map((n) => n.toLowerCase())
  const stack = [el]
  while (stack.length > 0) {
    const e = stack.shift()!
    if (want.includes(e.name.toLowerCase())) return e
    stack.push(...e.children)
  }
  return undefined
}
const text = (el: XmlElement, ...names: readonly string[]): string => find(el, ...names)?.text.trim() ?? ''

/** Reads a ucdevice.upx body; throws LabDecodeError when it is not well-formed XML. */
export function parseDusRequest(body: string | XmlElement): DusRequest {
  const root = typeof body === 'string' ? parseXml(body) : body
  const modules: DusModule[] = []
  const stack = [root]
  while (stack.length > 0) {
    const e = stack.shift()!
    if (e.name.toLowerCase() === 'module')
      modules.push({
        filename: text(e, 'Filename', 'FileName', 'Name'),
        version: text(e, 'Version'),
        timestamp: text(e, 'Timestamp', 'TimeStamp'),
      })
    else stack.push(...e.children)
  }
  return {
    deviceType: text(root, 'DeviceType') || 'UCPhone',
    mac: normalizeMac(text(root, 'MacAddress', 'MAC', 'MacAddr')),
    serial: text(root, 'SerialNumber', 'Serial'),
    vendor: text(root, 'Vendor') || 'Polycom',
    model: text(root, 'Model') || 'CX700',
    revision: text(root, 'Revision', 'HardwareRevision') || 'A',
    locale: text(root, 'Locale') || 'ENU',
    modules,
    user: text(root, 'UserId', 'User'),
  }
}

export function normalizeMac(mac: string): string {
  const hex = mac.replace(/[^0-9a-f]/gi, '').toLowerCase()
  return hex.length === 12 ? hex.match(/../g)!.join(':') : mac.toLowerCase()
}

/** Compares dotted versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/** The CPE image's version in a request (CPE.nbt, else the first module). */
export function currentVersion(r: DusRequest): string {
  return (r.modules.find((m) => m.filename.toLowerCase() === 'cpe.nbt') ?? r.modules[0])?.version ?? ''
}

/**
 * What the device is offered (§6.2): the approved version, or for a test device the newest pending one when
 * it is newer; `update` when that is newer than what the device runs, `pending` when only an unapproved one
 * would be (F21).
 */
export function decide(r: DusRequest, c: DusConfig): DusDecision {
  const current = currentVersion(r)
  const tester = c.testDevices.map(normalizeMac).includes(r.mac)
  const newest = (vs: readonly string[]): string | undefined => [...vs].sort(compareVersions).at(-1)
  const pending = newest(c.pending)
  const offer =
    tester && pending !== undefined && compareVersions(pending, c.approved) > 0 ? pending : c.approved
  const newer = (v: string): boolean => current === '' || compareVersions(v, current) > 0
  if (newer(offer)) return { current, offered: offer, outcome: 'update' }
  if (pending !== undefined && newer(pending)) return { current, offered: current, outcome: 'pending' }
  return { current, offered: current, outcome: 'current' }
}

/** The folder path of an update (spec §6.2: …/UCPhone/Polycom/CX700/A/ENU/<version>/CPE). */
export const updatePath = (r: DusRequest, version: string): string =>
  `${r.deviceType}/${r.vendor}/${r.model}/${r.revision}/${r.locale}/${version}/CPE`

/** The answer: the offered version with its files, and where to download them (blank URLs: F19). */
export function dusResponse(
  r: DusRequest,
  d: DusDecision,
  urls: { readonly internal: string; readonly external: string } | undefined,
  now: Date,
): string {
  const folder = updatePath(r, d.offered)
  return xmlDocument(
    x(
      'Response',
      {},
      x('DeviceType', {}, r.deviceType),
      x('Vendor', {}, r.vendor),
      x('Model', {}, r.model),
      x('Revision', {}, r.revision),
      x('Locale', {}, r.locale),
      x(
        'Modules',
        {},
        x(
          'Module',
          {},
          x('Filename', {}, 'CPE.nbt'),
          x('SignatureFilename', {}, 'CPE.cat'),
          x('Version', {}, d.offered),
          x('Timestamp', {}, now.toISOString()),
        ),
      ),
      x('BaseURL', {}, urls ? `${urls.internal}/DeviceUpdateFiles_Int/${folder}` : ''),
      x('ExternalBaseURL', {}, urls ? `${urls.external}/DeviceUpdateFiles_Ext/${folder}` : ''),
    ),
  )
}

/** A file path under DeviceUpdateFiles_*: the version and file name (undefined: not an update file path). */
export function parseFilePath(path: string): { version: string; file: string } | undefined {
  const parts = path.split('/').filter(Boolean)
  // DeviceUpdateFiles_Int / type / vendor / model / revision / locale / version / CPE / file
  if (parts.length !== 9 || parts[7]!.toLowerCase() !== 'cpe') return undefined
  const version = parts[6]!
  if (!/^\d+(\.\d+){1,3}$/.test(version)) return undefined
  return { version, file: parts[8]! }
}

/**
 * A stand-in update file when the scenario names no folder: CPE.nbt (256 KiB, deterministic, marked as a
 * lab stand-in), CPE.cat and CPE.xml; undefined for any other name.
 */
export function standInFile(version: string, file: string): Buffer | undefined {
  switch (file.toLowerCase()) {
    case 'cpe.nbt': {
      const out = Buffer.alloc(256 * 1024)
      const head = Buffer.from(`CX700-LAB STAND-IN IMAGE ${version} - NOT FIRMWARE\n`)
      head.copy(out)
      for (let at = head.length, i = 0; at < out.length; i++) {
        const block = createHash('sha256').update(`${version}:${i}`).digest()
        block.copy(out, at)
        at += block.length
      }
      return out
    }
    case 'cpe.cat':
      return Buffer.from(`CX700-LAB STAND-IN CATALOG ${version}\n`)
    case 'cpe.xml':
      return Buffer.from(xmlDocument(x('Update', {}, x('Version', {}, version), x('Image', {}, 'CPE.nbt'))))
    default:
      return undefined
  }
}

/** IIS's MIME map for update files (spec §6.3): .nbt and .cat as binary/octet-stream. */
export function mimeType(file: string): string | undefined {
  const ext = file.toLowerCase().split('.').pop()
  if (ext === 'nbt' || ext === 'cat') return 'binary/octet-stream'
  if (ext === 'xml') return 'text/xml'
  return undefined
}
