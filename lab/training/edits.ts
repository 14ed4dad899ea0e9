import { Type, type Static } from '@sinclair/typebox'
import { LabError } from '../../core/errors.js'
import { schemaProblems } from '../../core/schema/problems.js'
import { DnsRecordInputSchema, DnsRemoveSchema } from '../../servers/dns/schema.js'
import { parseRecord } from '../../servers/dns/zone.js'
import type { Scenario } from '../scenario/model.js'

const Hostname = Type.String({ format: 'hostname' })
const Ipv4 = Type.String({ format: 'ipv4' })

/**
 * A change a trainee makes in their own view (a fix exercise): a DNS record added or removed, or a DHCP
 * option set — what a support engineer changes on the site's DNS and DHCP servers.
 */
export const TraineeEditSchema = Type.Union([
  Type.Object({ tool: Type.Literal('dns-edit'), add: DnsRecordInputSchema }, { additionalProperties: false }),
  Type.Object({ tool: Type.Literal('dns-edit'), remove: DnsRemoveSchema }, { additionalProperties: false }),
  Type.Object(
    {
      tool: Type.Literal('dhcp-edit'),
      domainName: Type.String({ format: 'hostname-or-empty', description: 'Option 15; "" leaves it out.' }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { tool: Type.Literal('dhcp-edit'), searchList: Type.Array(Hostname, { description: 'Option 119.' }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { tool: Type.Literal('dhcp-edit'), dns: Type.Array(Ipv4, { minItems: 1, description: 'Option 6.' }) },
    { additionalProperties: false },
  ),
])
export type TraineeEdit = Static<typeof TraineeEditSchema>

/** Checks an edit as a trainee sent it; throws LAB_ERR_TRAINING saying what is wrong. */
export function checkEdit(edit: unknown): TraineeEdit {
  const problems = schemaProblems(TraineeEditSchema, edit)
  if (problems.length > 0)
    throw new LabError(
      'LAB_ERR_TRAINING',
      `That change cannot be made: ${problems.map((p) => `${p.path || 'it'} ${p.message}`).join('; ')}.`,
    )
  const checked = edit as TraineeEdit
  if ('add' in checked) {
    try {
      parseRecord(checked.add, 300)
    } catch (err) {
      throw new LabError('LAB_ERR_TRAINING', `That record cannot be added: ${(err as Error).message}`)
    }
  }
  return checked
}

/** How an edit reads in a report: `added _ldap._tcp… SRV 0 100 389 dc01…`, `option 15 set to corp.contoso.test`. */
export function describeEdit(edit: TraineeEdit): string {
  if ('add' in edit) return `added ${edit.add.name} ${edit.add.type} ${edit.add.value}`
  if ('remove' in edit) return `removed ${edit.remove.name} ${edit.remove.type ?? '(every type)'}`
  if ('domainName' in edit) return `DHCP option 15 set to "${edit.domainName}"`
  if ('searchList' in edit) return `DHCP option 119 set to "${edit.searchList.join(';')}"`
  return `DHCP option 6 set to ${edit.dns.join(', ')}`
}

const sameName = (a: string, b: string): boolean =>
  a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '')

/** A scenario with a trainee's edits made, in order (a removal also takes back a record they added). */
export function applyEdits(scenario: Scenario, edits: readonly TraineeEdit[]): Scenario {
  let { dns, dhcp } = scenario.servers
  for (const e of edits) {
    if ('add' in e) dns = { ...dns, records: [...dns.records, e.add] }
    else if ('remove' in e) {
      const gone = (r: { name: string; type: string }): boolean =>
        sameName(r.name, e.remove.name) && (e.remove.type === undefined || r.type === e.remove.type)
      dns = { ...dns, records: dns.records.filter((r) => !gone(r)), remove: [...dns.remove, e.remove] }
    } else {
      const { tool: _tool, ...option } = e
      dhcp = { ...dhcp, ...option }
    }
  }
  return { ...scenario, servers: { ...scenario.servers, dns, dhcp } }
}
