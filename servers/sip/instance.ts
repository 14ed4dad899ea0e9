import { createHash } from 'node:crypto'

/**
 * The endpoint's `+sip.instance` ([MS-SIPRE] §3.1.5.3): a name-based (version 5) UUID of the endpoint ID
 * (`epid`) in the namespace fcacfb03-8a73-46ef-91b1-e5ebeeaba4fe, hashed and printed as Windows keeps a
 * GUID (the first three fields little-endian), and the GRUU opaque OCS 2007 R2 makes of it.
 */

const NAMESPACE = Buffer.from('03fbacfc738aef4691b1e5ebeeaba4fe', 'hex') // the GUID's bytes as Windows lays them out

/** The instance UUID (lower-case, no braces) of an epid. */
export function instanceOfEpid(epid: string): string {
  const h = createHash('sha1').update(NAMESPACE).update(epid, 'latin1').digest().subarray(0, 16)
  h.writeUInt16LE((h.readUInt16LE(6) & 0x0fff) | 0x5000, 6)
  h[8] = (h[8]! & 0x3f) | 0x80
  return guidText(h)
}

function guidText(b: Buffer): string {
  const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0')
  const tail = b.subarray(8).toString('hex')
  return `${hex(b.readUInt32LE(0), 8)}-${hex(b.readUInt16LE(4), 4)}-${hex(b.readUInt16LE(6), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`
}

function guidBytes(uuid: string): Buffer {
  const h = uuid.replace(/-/g, '')
  const b = Buffer.from(h, 'hex')
  b.writeUInt32LE(Number.parseInt(h.slice(0, 8), 16), 0)
  b.writeUInt16LE(Number.parseInt(h.slice(8, 12), 16), 4)
  b.writeUInt16LE(Number.parseInt(h.slice(12, 16), 16), 6)
  return b
}

/**
 * The opaque of the GRUU OCS 2007 R2 hands a registering endpoint: `user:epid:` and the instance GUID's bytes in
 * URL-safe base64 with its padding written as `A` (sipe's recorded 200 OK: instance
 * 34d859db-6585-5f91-a3b4-de853c15347d → `user:epid:21nYNIVlkV-jtN6FPBU0fQAA`).
 */
export function gruuOpaque(instance: string): string {
  const text = guidBytes(instance).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')
  return `user:epid:${text.replace(/=/g, 'A')}`
}
