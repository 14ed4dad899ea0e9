import { resolveDns } from './behaviour.js'
import { DNS_CLASS_IN, rcodeName, recordText, typeCode } from './codec.js'
import type { DnsRuntime } from './runtime.js'
import { sliceRecords, zoneIndexer, type DnsSlice } from './zone.js'

/** An answer as nslookup shows it: the RCODE and the records in zone-file form. */
export interface Lookup {
  readonly rcode: string
  readonly answers: readonly string[]
}

/**
 * What the lab's DNS answers a device with `slice` (its own view, or the lab's) for `name`/`type`, runtime
 * changes included — a support engineer's nslookup, without sending a packet. The same records and
 * resolution the server uses (`sliceRecords`, `zoneIndexer`, `resolveDns`).
 */
export function lookupIn(slice: DnsSlice, runtime: DnsRuntime, name: string, type: string): Lookup {
  const code = typeCode(type)
  if (code === undefined) return { rcode: 'FORMERR', answers: [] }
  const zone = zoneIndexer(slice)(sliceRecords(slice, (r) => runtime.applyTo(r)))
  const answer = resolveDns({ name, type: code, class: DNS_CLASS_IN }, zone, slice.block)
  return { rcode: rcodeName(answer.rcode), answers: answer.answers.map(recordText) }
}
