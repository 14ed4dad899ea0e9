import { readFileSync, writeFileSync } from 'node:fs'
import { asGolden, diffGolden, goldenDiffers, goldenOf, type GoldenTimeline } from '../lab/admin/golden.js'
import { ladderSvg } from '../lab/admin/ladder.js'
import { STAGES, deviceEvents, type DeviceTimeline } from '../lab/admin/timeline.js'
import { parseDuration } from '../core/schema/common.js'
import { parse, table, usage } from './args.js'
import { CLIENT_OPTIONS } from './commands.js'
import { journalEvents } from './journal-source.js'

export const TIMELINE_HELP = `Usage: cx700-lab timeline export --device MAC [--journal FILE | --lab URL] [-o FILE]
       cx700-lab timeline diff A.json B.json [--tolerance 2s]
       cx700-lab timeline ladder --device MAC [--stage STAGE] [--journal FILE | --lab URL] [-o FILE.svg]

A phone's last boot as a golden timeline: per stage, what the phone asked for (the DHCP parameter list, DNS
names, the TLS ClientHello, LDAP and Kerberos requests, HTTP paths, SIP methods) in order, with the time since
the boot began. Export one from a hardware phone or an emulated one (the same file), keep it, and diff a later
boot against it: requests missing or extra, a changed order, a time beyond the tolerance. Each file records
the kind of boot (a first boot: a new or hard-reset phone fetching the lab's root; or a used phone's, which
skips that; and whether it downloaded firmware): between boots of different kinds, the one-time steps (the
CA search, /certsrv, the ucupdates-r2 lookup, the image download) are named as such and do not count. diff
exits 1 when the two boots differ otherwise.

ladder draws the device's last boot as a ladder diagram (SVG): the phone and each server as columns, each
request an arrow to its server and the answer an arrow back, failures in red, the lab's faults marked.
`

function load(file: string): GoldenTimeline {
  try {
    return asGolden(JSON.parse(readFileSync(file, 'utf8')))
  } catch (err) {
    throw usage(`${file}: ${(err as Error).message}`)
  }
}

/** A device's timeline from the journal the options name; undefined (and said on stderr) when it has none. */
async function deviceTimeline(
  values: Parameters<typeof journalEvents>[0],
  device: string,
): Promise<DeviceTimeline | undefined> {
  const found = deviceEvents(await journalEvents(values), device)
  if (!found) process.stderr.write(`no event of device ${device} in the journal\n`)
  return found?.timeline
}

export async function timeline(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CLIENT_OPTIONS,
    device: { type: 'string' },
    journal: { type: 'string' },
    lab: { type: 'string' },
    output: { type: 'string', short: 'o' },
    tolerance: { type: 'string' },
    stage: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (values.help) {
    process.stdout.write(TIMELINE_HELP)
    return 0
  }
  const [verb, ...files] = positionals
  if (verb === 'export') {
    if (values.device === undefined || files.length > 0) throw usage('timeline export takes --device MAC.')
    const found = await deviceTimeline(values, values.device)
    if (!found) return 1
    const text = `${JSON.stringify(goldenOf(found), null, 2)}\n`
    if (values.output !== undefined) writeFileSync(values.output, text)
    else process.stdout.write(text)
    return 0
  }
  if (verb === 'ladder') {
    if (values.device === undefined || files.length > 0) throw usage('timeline ladder takes --device MAC.')
    const found = await deviceTimeline(values, values.device)
    if (!found) return 1
    const stage = STAGES.find((x) => x === values.stage)
    if (values.stage !== undefined && stage === undefined)
      throw usage(`--stage is one of ${STAGES.join(', ')}.`)
    const svg = `${ladderSvg(found, stage ? { stage } : {})}\n`
    if (values.output !== undefined) writeFileSync(values.output, svg)
    else process.stdout.write(svg)
    return 0
  }
  if (verb === 'diff') {
    if (files.length !== 2) throw usage('timeline diff takes two files.')
    const tolerance = parseDuration(values.tolerance ?? '2s')
    const [a, b] = [load(files[0]!), load(files[1]!)]
    const diffs = diffGolden(a, b, tolerance)
    const differs = goldenDiffers(diffs)
    if (values.json) process.stdout.write(`${JSON.stringify(diffs, null, 2)}\n`)
    else if (diffs.length === 0)
      process.stdout.write('the two boots asked for the same things, in the same order\n')
    else {
      process.stdout.write(
        `${table([['STAGE', 'DIFFERENCE', 'DETAIL'], ...diffs.map((d) => [d.stage, d.what, d.detail])])}\n`,
      )
      if (!differs)
        process.stdout.write(
          '\nthe boots differ only in the one-time steps of their kinds (a first boot and a used one): they agree\n',
        )
    }
    return differs ? 1 : 0
  }
  throw usage('timeline takes export, diff or ladder.')
}
