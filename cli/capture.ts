import { writeFileSync } from 'node:fs'
import { parse, table, usage } from './args.js'
import { CLIENT_OPTIONS, client } from './commands.js'

export const CAPTURE_HELP = `Usage: cx700-lab capture --device MAC [--stage STAGE] [-o FILE]
       cx700-lab capture list

What the lab's servers received from and sent to one phone, as a pcapng file that Wireshark opens with
full dissection: UDP datagrams as they were, TCP as segments of the real byte streams, and the TLS session
secrets in the file, so SIP and HTTP inside TLS show without any setup. --stage keeps one stage of the boot
(DHCP, DNS, NTP, DC/LDAP, Kerberos, certsrv, SIP, DUS, Autodiscover, EWS). Without -o the file is written to
cx700-<device>[-<stage>].pcapng. A password that crossed in clear (a simple bind, Basic) is masked, and the
secrets of a TLS connection that carried one are left out.

The lab keeps 4 MB per device and 32 MB in all by default, oldest first out (cx700-lab up --capture-mb,
--capture-device-mb; 0 turns captures off). list shows what it holds.

Options: --admin URL, --token T (as for every command that talks to a running lab)
`

export async function capture(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CLIENT_OPTIONS,
    device: { type: 'string' },
    stage: { type: 'string' },
    output: { type: 'string', short: 'o' },
  })
  if (values.help) {
    process.stdout.write(CAPTURE_HELP)
    return 0
  }
  const lab = client(values)
  if (positionals[0] === 'list') {
    const answer = await lab.captures()
    process.stdout.write(
      `${table([
        ['device', 'mac', 'records', 'kB'],
        ...answer.devices.map((d) => [d.key, d.mac ?? '-', String(d.records), (d.bytes / 1024).toFixed(1)]),
      ])}\n`,
    )
    return 0
  }
  if (positionals.length > 0 || values.device === undefined)
    throw usage('capture takes --device MAC (or: capture list).')
  const bytes = await lab.capture(values.device, values.stage)
  const stage = values.stage ? `-${values.stage.replace(/[^a-zA-Z]+/g, '')}` : ''
  const file = values.output ?? `cx700-${values.device.replace(/[^a-zA-Z0-9.-]+/g, '-')}${stage}.pcapng`
  writeFileSync(file, bytes)
  process.stdout.write(`${file}: ${bytes.length} octets\n`)
  return 0
}
