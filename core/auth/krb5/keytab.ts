import type { Key } from './crypto.js'
import type { PrincipalName } from './messages.js'

/**
 * The MIT keytab file format, version 0x0502 (what `ktutil`, `klist -k` and `kvno -k` read): a magic, then
 * one length-prefixed entry per key — principal (realm, components, name type), timestamp, kvno, key.
 */
export interface KeytabEntry {
  readonly realm: string
  readonly name: PrincipalName
  readonly timestamp: number
  readonly kvno: number
  readonly key: Key
}

const counted = (text: string | Uint8Array): Buffer => {
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text)
  const head = Buffer.alloc(2)
  head.writeUInt16BE(body.length)
  return Buffer.concat([head, body])
}

export function encodeKeytab(entries: readonly KeytabEntry[]): Uint8Array {
  const parts: Buffer[] = [Buffer.from([0x05, 0x02])]
  for (const e of entries) {
    const fixed = Buffer.alloc(2)
    fixed.writeUInt16BE(e.name.names.length)
    const tail = Buffer.alloc(4 + 4 + 1 + 2)
    tail.writeUInt32BE(e.name.type, 0)
    tail.writeUInt32BE(Math.floor(e.timestamp / 1000), 4)
    tail.writeUInt8(e.kvno & 0xff, 8)
    tail.writeUInt16BE(e.key.etype, 9)
    const kvno32 = Buffer.alloc(4)
    kvno32.writeUInt32BE(e.kvno)
    const body = Buffer.concat([
      fixed,
      counted(e.realm),
      ...e.name.names.map((n) => counted(n)),
      tail,
      counted(e.key.bytes),
      kvno32,
    ])
    const size = Buffer.alloc(4)
    size.writeInt32BE(body.length)
    parts.push(size, body)
  }
  return Buffer.concat(parts)
}
