import type { SchemaProblem } from '../../core/schema/problems.js'
import { validatorFor } from '../../core/schema/ajv.js'
import { DnsRecordInputSchema, type DnsRecordInput } from './schema.js'
import { parseRecord } from './zone.js'

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

/**
 * The record data the schema cannot check (an A record's address, an SRV's port and target), read now the
 * way the server will read it, so that `validate` reports what `up` would refuse. Records that do not meet
 * their schema are left to the schema's own messages.
 */
export function checkDns(block: Readonly<Record<string, unknown>>): SchemaProblem[] {
  const out: SchemaProblem[] = []
  const wellFormed = validatorFor(DnsRecordInputSchema)
  const ttl = typeof block.ttl === 'number' ? block.ttl : 300
  const check = (records: unknown, at: string): void =>
    list(records).forEach((record, i) => {
      if (!wellFormed(structuredClone(record))) return
      try {
        parseRecord(record as DnsRecordInput, ttl)
      } catch (err) {
        out.push({ pointer: `${at}/${i}/value`, message: (err as Error).message })
      }
    })
  check(block.records, '/servers/dns/records')
  list(block.views).forEach((view, v) => {
    if (typeof view === 'object' && view !== null)
      check((view as Record<string, unknown>).records, `/servers/dns/views/${v}/records`)
  })
  return out
}
