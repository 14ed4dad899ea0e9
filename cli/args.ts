import type { Endpoint } from '../lab/runtime.js'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { LabError } from '../core/errors.js'

export type Options = NonNullable<ParseArgsConfig['options']>

/** parseArgs that turns its errors into LAB_ERR_CLI_USAGE (exit 2). */
export function parse<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
  } catch (cause) {
    throw new LabError('LAB_ERR_CLI_USAGE', `Failed to read the command line: ${(cause as Error).message}.`, {
      cause,
    })
  }
}

export function usage(message: string): LabError {
  return new LabError('LAB_ERR_CLI_USAGE', message)
}

export function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^-?\d+$/.test(value)) throw usage(`--${name} takes a whole number, not "${value}".`)
  return Number(value)
}

/** `HOST:PORT`, `:PORT` or `PORT` → host and port (the admin API's --admin). */
export function hostPort(
  value: string,
  defaultHost = '127.0.0.1',
  option = 'admin',
): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(value)
  if (!m || Number(m[2]) > 65535)
    throw usage(`--${option} takes HOST:PORT (e.g. 127.0.0.1:8700), not "${value}".`)
  return { host: m[1] || defaultHost, port: Number(m[2]) }
}

/** Renders rows as an aligned text table. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = []
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)))
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n')
}

/** The port map as `up` prints it: where each service of a lab host really listens. */
export function endpointTable(endpoints: readonly Endpoint[], adminUrl: string): string {
  const rows = [['SERVICE', 'TRANSPORT', 'ADDRESS', 'PORT', 'STANDS FOR']]
  for (const e of endpoints)
    rows.push([
      e.name,
      e.transport,
      e.address,
      String(e.port),
      `${e.hosts.join(', ') || '-'} (:${e.standardPort})`,
    ])
  rows.push([
    'admin',
    'tcp',
    ...adminUrl.replace('http://', '').split(/:(?=\d+$)/),
    'the dashboard and admin API',
  ])
  return table(rows)
}

/** The MAC `n` after `mac` (consecutive phones). */
export const macPlus = (mac: string, n: number): string => {
  const v = (BigInt(`0x${mac.replace(/[^0-9a-f]/gi, '')}`) + BigInt(n)).toString(16).padStart(12, '0')
  return v.match(/../g)!.join(':')
}
