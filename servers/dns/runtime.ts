import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { LabError } from '../../core/errors.js'
import { eventWriter, type EventWriterOf } from '../../core/journal/events.js'
import type { Journal } from '../../core/journal/journal.js'
import type { DnsEvents } from './events.js'
import { schemaProblems } from '../../core/schema/problems.js'
import { rdataText, recordText, type DnsRecord } from './codec.js'
import { DnsRecordInputSchema, DnsRemoveSchema, type DnsRecordInput, type DnsRemove } from './schema.js'
import { applyChanges, parseRecord } from './zone.js'

/** One change made while the lab runs, applied on top of the scenario's records (in every view). */
export type DnsChange =
  | { readonly id: string; readonly op: 'add'; readonly input: DnsRecordInput; readonly record: DnsRecord }
  | { readonly id: string; readonly op: 'remove'; readonly remove: DnsRemove }

/**
 * DNS records changed through the admin API (`/dns/records`): kept per lab, so they survive a scenario
 * reload, and journaled. The DNS server listens for changes and rebuilds its zones.
 */
export class DnsRuntime {
  readonly #record: EventWriterOf<DnsEvents>
  #changes: DnsChange[] = []
  #next = 1
  /** What the running DNS server serves to a device that no view matches (set by the server). */
  served: readonly DnsRecord[] = []
  readonly #listeners = new Set<() => void>()

  constructor(journal: Journal) {
    this.#record = eventWriter<DnsEvents>(journal, 'dns')
  }

  get changes(): readonly DnsChange[] {
    return this.#changes
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #changed(): void {
    for (const l of [...this.#listeners]) l()
  }

  /** Adds (or, for its name and type, replaces) a record; throws LAB_ERR_DNS_RECORD when its data is wrong. */
  add(input: DnsRecordInput, ttl = 300): DnsChange {
    const record = parseRecord(input, ttl)
    const change: DnsChange = { id: `d${this.#next++}`, op: 'add', input, record }
    this.#changes.push(change)
    this.#record('dns:record-added', {
      summary: `record ${change.id} added: ${recordText(record)}`,
      detail: { id: change.id, record: input },
    })
    this.#changed()
    return change
  }

  /** Hides records of a name (of one type, or all) wherever they come from. */
  remove(remove: DnsRemove): DnsChange {
    const change: DnsChange = { id: `d${this.#next++}`, op: 'remove', remove }
    this.#changes.push(change)
    this.#record('dns:record-removed', {
      summary: `record ${change.id}: ${remove.name} ${remove.type ?? 'every type'} removed`,
      detail: { id: change.id, remove },
    })
    this.#changed()
    return change
  }

  /**
   * The runtime changes as one layer over a slice's records: an added record replaces the scenario's records
   * of its name and type but joins other runtime records of them; a removal hides whatever came before it.
   */
  applyTo(records: readonly DnsRecord[]): DnsRecord[] {
    let out = [...records]
    let layer: DnsRecord[] = []
    const same = (a: DnsRecord, b: DnsRecord): boolean => a.name === b.name && a.type === b.type
    for (const c of this.#changes) {
      if (c.op === 'add') {
        if (!layer.some((r) => same(r, c.record))) out = out.filter((r) => !same(r, c.record))
        layer.push(c.record)
        out.push(c.record)
      } else {
        out = applyChanges(out, [c.remove], [])
        layer = applyChanges(layer, [c.remove], [])
      }
    }
    return out
  }

  /** Takes one runtime change back. */
  undo(id: string): void {
    const before = this.#changes.length
    this.#changes = this.#changes.filter((c) => c.id !== id)
    if (this.#changes.length === before)
      throw new LabError(
        'LAB_ERR_DNS_RECORD',
        `Failed to undo DNS change ${id}: there is no such change. List them with GET /dns/records.`,
      )
    this.#record('dns:change-undone', {
      summary: `DNS change ${id} undone`,
      detail: { id },
    })
    this.#changed()
  }

  /** Takes every runtime change back; returns how many. */
  reset(): number {
    const n = this.#changes.length
    this.#changes = []
    this.#record('dns:changes-reset', {
      summary: `${n} DNS change(s) undone`,
      detail: { count: n },
    })
    this.#changed()
    return n
  }
}

const RemoveQuery = Type.Object(
  { name: DnsRemoveSchema.properties.name, type: DnsRemoveSchema.properties.type },
  { additionalProperties: false },
)

/**
 * `GET /dns/records` (what is served, and the runtime changes), `POST /dns/records` (add),
 * `DELETE /dns/records?name=&type=` (remove), `DELETE /dns/changes/:id` (undo one), `DELETE /dns/changes`.
 */
export function dnsRoutes(app: FastifyInstance, runtime: DnsRuntime): void {
  app.get('/dns/records', async () => ({
    records: runtime.served.map((r) => ({ name: r.name, type: r.type, value: rdataText(r), ttl: r.ttl })),
    changes: runtime.changes,
  }))

  app.post('/dns/records', async (req, reply) => {
    const body: unknown = structuredClone(req.body)
    const problems = schemaProblems(DnsRecordInputSchema, body)
    if (problems.length > 0)
      return reply.code(400).send({ error: 'Failed to add the DNS record: it is invalid.', problems })
    try {
      return await reply.code(201).send(runtime.add(body as DnsRecordInput))
    } catch (err) {
      if (err instanceof LabError) return reply.code(400).send({ error: err.message, problems: [] })
      throw err
    }
  })

  app.delete<{ Querystring: Record<string, string> }>('/dns/records', async (req, reply) => {
    const query: unknown = { ...req.query }
    const problems = schemaProblems(RemoveQuery, query)
    if (problems.length > 0 || typeof req.query.name !== 'string')
      return reply.code(400).send({
        error: 'Failed to remove DNS records: say which with ?name=…[&type=SRV].',
        problems,
      })
    return reply.code(200).send(runtime.remove(query as DnsRemove))
  })

  app.delete<{ Params: { id: string } }>('/dns/changes/:id', async (req, reply) => {
    try {
      runtime.undo(req.params.id)
      return await reply.code(204).send()
    } catch (err) {
      if (err instanceof LabError) return reply.code(404).send({ error: err.message })
      throw err
    }
  })

  app.delete('/dns/changes', async () => ({ undone: runtime.reset() }))
}
