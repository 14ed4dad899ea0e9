import { preflight } from '../lab/preflight.js'
import { intOption, parse, table, usage } from './args.js'

export const PREFLIGHT_HELP = `Usage: cx700-lab preflight --interface IF [--address A.B.C.D/N] [--mode interface|netns] [--wait MS] [--json]

Checks a host before real phones meet the lab on IF, as \`up\` will run it there. --mode interface (the
default, for \`up --mode interface\`): privileges, the link up and NOT holding the lab's address (the lab
takes it on a macvlan of its own), no device on the link answering for the address (an RFC 5227 probe with
arping), another DHCP server answering on the segment (a DISCOVER, then --wait ms, default 4000), and the
clock. --mode netns (a container whose only link is IF): the link holding the address and every port the
lab binds free on it (53, 67, 80, 88, 123, 389, 443, 3268, 5061) instead. Prints a table; exit 1 when
anything blocks, 0 otherwise.
`

export async function preflightCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    interface: { type: 'string' },
    address: { type: 'string' },
    wait: { type: 'string' },
    mode: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (values.help) {
    process.stdout.write(PREFLIGHT_HELP)
    return 0
  }
  if (values.interface === undefined) throw usage(`preflight needs --interface.\n\n${PREFLIGHT_HELP}`)
  if (values.address !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(values.address))
    throw usage(`--address takes A.B.C.D/N, e.g. 10.50.0.1/24, not "${values.address}".`)
  const mode = values.mode ?? 'interface'
  if (mode !== 'interface' && mode !== 'netns')
    throw usage(`--mode takes interface or netns, not "${mode}".\n\n${PREFLIGHT_HELP}`)
  const checks = await preflight({
    mode,
    interface: values.interface,
    ...(values.address !== undefined ? { address: values.address } : {}),
    dhcpWaitMs: intOption(values.wait, 'wait') ?? 4000,
  })
  const blocked = checks.some((c) => c.status === 'fail')
  if (values.json) process.stdout.write(JSON.stringify({ ok: !blocked, checks }, null, 2) + '\n')
  else {
    const mark = { ok: 'ok', warn: 'WARN', fail: 'FAIL' } as const
    process.stdout.write(
      table([['CHECK', 'RESULT', 'DETAIL'], ...checks.map((c) => [c.name, mark[c.status], c.detail])]) + '\n',
    )
    process.stdout.write(
      blocked ? '\nblocked: fix every FAIL above before a phone boots against the lab.\n' : '\nready.\n',
    )
  }
  return blocked ? 1 : 0
}
