import type { DnsRecordInput } from '../servers/dns/schema.js'
import { DNS_RECORD_TYPES } from '../servers/dns/schema.js'
import { parse, table, usage } from './args.js'
import { CLIENT_OPTIONS, client } from './commands.js'

export const DNS_HELP = `Usage: cx700-lab dns list|add|remove|undo|reset [options]

Changes what the running lab's DNS serves, without a restart. Changes are journaled and kept across
scenario reloads; they apply to every per-device view.

  dns list [--json]                              the records served, then the runtime changes
  dns add NAME TYPE VALUE [--ttl N]              e.g. dns add _sip._tls.contoso.test SRV "0 0 443 ocspool.contoso.test"
  dns remove NAME [TYPE]                         hide records (derived, from the scenario or added)
  dns undo ID                                    take one runtime change back
  dns reset                                      take every runtime change back

Types: ${DNS_RECORD_TYPES.join(', ')}.
Options: --admin URL, --token T, --state DIR (to find the running lab).
`

export async function dns(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CLIENT_OPTIONS,
    json: { type: 'boolean' },
    ttl: { type: 'string' },
  })
  if (values.help) {
    process.stdout.write(DNS_HELP)
    return 0
  }
  const [verb, ...args] = positionals
  const lab = client(values)
  switch (verb) {
    case 'list': {
      const answer = await lab.dnsRecords()
      if (values.json) {
        process.stdout.write(JSON.stringify(answer, null, 2) + '\n')
        return 0
      }
      const rows = [
        ['NAME', 'TTL', 'TYPE', 'VALUE'],
        ...answer.records.map((r) => [r.name, String(r.ttl), r.type, r.value]),
      ]
      process.stdout.write(table(rows) + '\n')
      if (answer.changes.length > 0) {
        process.stdout.write('\nruntime changes:\n')
        for (const c of answer.changes)
          process.stdout.write(
            `  ${c.id}  ${c.op === 'add' ? `add ${c.input?.name ?? ''} ${c.input?.type ?? ''} ${c.input?.value ?? ''}` : `remove ${c.remove?.name ?? ''} ${c.remove?.type ?? 'every type'}`}\n`,
          )
      }
      return 0
    }
    case 'add': {
      const [name, type, ...value] = args
      const upper = type?.toUpperCase()
      if (name === undefined || upper === undefined || value.length === 0)
        throw usage('dns add needs NAME TYPE VALUE, e.g. dns add sip.contoso.test A 10.50.0.9')
      if (!(DNS_RECORD_TYPES as readonly string[]).includes(upper))
        throw usage(`dns add: TYPE must be one of ${DNS_RECORD_TYPES.join(', ')}, not "${type}".`)
      const ttl = values.ttl !== undefined ? Number(values.ttl) : undefined
      if (ttl !== undefined && !Number.isInteger(ttl))
        throw usage(`--ttl takes a whole number, not "${values.ttl}".`)
      const record = {
        name,
        type: upper,
        value: value.join(' '),
        ...(ttl !== undefined ? { ttl } : {}),
      } as DnsRecordInput
      const change = await lab.addDnsRecord(record)
      process.stdout.write(`${change.id}  added ${name} ${upper} ${record.value}\n`)
      return 0
    }
    case 'remove': {
      const [name, type] = args
      if (name === undefined) throw usage('dns remove needs NAME [TYPE].')
      const change = await lab.removeDnsRecords(name, type?.toUpperCase())
      process.stdout.write(`${change.id}  removed ${name} ${type?.toUpperCase() ?? '(every type)'}\n`)
      return 0
    }
    case 'undo': {
      const [id] = args
      if (id === undefined) throw usage('dns undo needs the ID of a change (see dns list).')
      await lab.undoDnsChange(id)
      process.stdout.write(`${id} undone\n`)
      return 0
    }
    case 'reset':
      process.stdout.write(`${(await lab.resetDnsChanges()).undone} change(s) undone\n`)
      return 0
    case undefined:
    default:
      throw usage(`dns needs list, add, remove, undo or reset.\n\n${DNS_HELP}`)
  }
}
