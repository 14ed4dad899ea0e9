import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { which } from '../lab/which.js'
import type { Lease } from '../phone/dhcp.js'
import { defaultStateDir } from '../lab/paths.js'
import {
  DEFAULT_GUESSES,
  parseGuesses,
  runPhone,
  type PhoneOptions,
  type PhoneReport,
} from '../phone/emulator.js'
import { PhoneNet } from '../phone/net.js'
import { PhoneState } from '../phone/state.js'
import { intOption, macPlus, parse, usage } from './args.js'
import { client } from './commands.js'
import { livePhones, parseTimings } from './live.js'
import { PHONE_COMMANDS } from '../lab/admin/phone-commands.js'
import { loadScenario } from '../lab/scenario/load.js'
import { scenarioPhone, type ScenarioPhone } from './scenario-phone.js'

/** The phone block of the scenario file a running lab reports, when this machine can read it. */
function storyOf(file: string | undefined): ScenarioPhone | undefined {
  if (file === undefined || file.startsWith('<')) return undefined
  try {
    return scenarioPhone(loadScenario(file))
  } catch {
    return undefined // another machine's path, or a file changed since: the flags and defaults decide
  }
}

/**
 * What the user types: the flags, else the running scenario's phone block, else Alice of the default
 * scenario. A --user of its own names the account and password after it (CORP\\local-part, Passw0rd!).
 */
function whatIsTyped(
  values: { user?: string; account?: string; password?: string },
  story: ScenarioPhone | undefined,
): { signIn: string; account: string; password: string } {
  const fromStory = values.user === undefined ? story : undefined
  const signIn = values.user ?? story?.signIn ?? 'alice@contoso.test'
  if (!/^[^@\s]+@[^@\s]+$/.test(signIn))
    throw usage(`--user takes a sign-in address such as alice@contoso.test, not "${signIn}".`)
  return {
    signIn,
    account: values.account ?? fromStory?.account ?? `CORP\\${signIn.split('@')[0]!}`,
    password: values.password ?? fromStory?.password ?? 'Passw0rd!',
  }
}

export const PHONE_HELP = `Usage: cx700-lab phone --user SIGN-IN --account DOMAIN\\\\user --password P [options]

Boots an emulated CX700 and signs it in, as spec §1/§9 says the phone does: DHCP, DNS with the suffix rule,
NTP, the DC locator, the LDAP trust bootstrap and /certsrv, the SIP target walk over TLS (SHA-2 refused,
dates against the NTP-set clock), REGISTER with NTLM, provisioning, the Device Update Service, Autodiscover
and EWS. Prints the phone's status lines and a step trace; exit 0 when it ends signed in (or in --expect).

The phone is the running scenario's (its phone: block — user, what is typed, MAC, firmware, guesses) when
this machine can read the scenario file; flags change any part of it.

  --user ADDR        the sign-in address (default: the scenario's phone, else alice@contoso.test)
  --account NAME     DOMAIN\\\\user or user@domain (default: the scenario's phone, else CORP\\\\<local part>)
  --password P       (default: the scenario's phone, else Passw0rd!)
  --mac MAC          (default: the scenario's phone, else 00:04:f2:00:00:01); with --count, the first of N
                     consecutive MACs
  --count N          run N phones at once
  --firmware V       a new phone's firmware (default: the scenario's phone, else 1.0.522.101)
  --hard-reset       forget stored user, roots and URLs first (spec §6.4)
  --direct           talk to real addresses and standard ports (in a network namespace or on a lab LAN);
                     default: loopback, through the running lab's port map (/endpoints) and nothing else
  --interface IF     with --direct, the link the phone is on: the emulator adds a broadcast route before
                     DHCP and puts the leased address on IF afterwards (as a DHCP client does; needs root)
  --lab URL, --admin URL, --token T   the lab to take the port map from (as for every command)
  --guess KEY=VALUE  change one of the spec's GUESSes (repeatable): option119=ascii|rfc3397|both,
                     sni=true|false, provisioning=v2|v1, autodiscover=https-autodiscover,https-smtp,http-redirect,
                     ewsUrl=EwsUrl,ASUrl, kerberos=rc4-hmac|aes|off, tlsVersion=TLSv1|TLSv1.2, unsetClock=ISO date,
                     wins=then-dns|only, anchors=self-signed|installed,
                     ldapBind=spnego|simple
                     (defaults: the spec's best guesses)
  --state DIR        where phones keep their state (default: the running lab's state directory, phones/;
                     with --direct, the default state directory)
  --sni              send SNI on a real segment too (the CX700 probably does not; spec GUESS; loopback always does)
  --expect STATE     the end state that counts as success (default signed-in)
  --live DURATION    keep the phone living after sign-in for this much lab time (e.g. 24h; "forever" until
                     Ctrl-C): keep-alives, re-REGISTERs, EWS polls, the daily cycle, lease renewal, NTP resync,
                     updates installed when idle, reboots and loops. Follows the running lab's clock (fast
                     with \`cx700-lab clock rate N\`) and takes commands sent with \`cx700-lab phone reboot MAC\`.
  --max-loops N      with --live: stop a looping phone (F10, F16) after N loops (default: never)
  --timing K=V       with --live: one of the GUESSed intervals (repeatable): reRegisterAt=0.5, keepAliveS=150,
                     ewsPollS=180, dailyS=86400, ntpResyncS=3600, rebootS=60, installIdleS=60, retryS=60
  --json             one JSON report per phone

Usage: cx700-lab phone reboot|power-cycle|hard-reset MAC [--admin URL]

Leaves a command for a living emulated phone (it acts on it within a second), as a person at its desk would.
`

const run = promisify(execFile)
async function ipCommand(args: string[]): Promise<void> {
  const ip = which('ip')
  if (!ip) throw usage('--interface needs the ip command (iproute2).')
  await run(ip, args)
}

const OPTIONS = {
  user: { type: 'string' },
  account: { type: 'string' },
  password: { type: 'string' },
  mac: { type: 'string' },
  count: { type: 'string' },
  firmware: { type: 'string' },
  'hard-reset': { type: 'boolean' },
  direct: { type: 'boolean' },
  interface: { type: 'string' },
  admin: { type: 'string' },
  lab: { type: 'string' },
  guess: { type: 'string', multiple: true },
  token: { type: 'string' },
  state: { type: 'string' },
  sni: { type: 'boolean' },
  expect: { type: 'string' },
  json: { type: 'boolean' },
  live: { type: 'string' },
  'max-loops': { type: 'string' },
  timing: { type: 'string', multiple: true },
} as const

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values']

/** What the phones run against: the network, and the running lab's state directory and story (none with --direct). */
interface Surroundings {
  readonly net: PhoneNet
  /** Phones keep their state beside the lab's own (the roots they installed come from its CA). */
  readonly labStateDir?: string
  /** The running lab's scenario says who sits at the phone and what they type, unless flags say otherwise. */
  readonly story?: ScenarioPhone
}

const labOf = (values: Values) => client({ ...values, admin: values.lab ?? values.admin })

/** `cx700-lab phone`: a command for a living phone, or phones that boot (and live) against the lab. */
export async function phone(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS)
  if (values.help) {
    process.stdout.write(PHONE_HELP)
    return 0
  }
  if (positionals.length > 0) return commandPhone(values, positionals)
  const around: Surroundings = values.direct ? { net: new PhoneNet() } : await surroundings(values)
  const count = intOption(values.count, 'count') ?? 1
  if (count < 1 || count > 10_000) throw usage('--count takes 1 to 10000.')
  const firstMac = values.mac ?? around.story?.mac ?? '00:04:f2:00:00:01'
  if (!/^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i.test(firstMac))
    throw usage(`--mac takes a MAC such as 00:04:f2:00:00:01.`)
  if (values.interface !== undefined && (!values.direct || count !== 1))
    throw usage('--interface goes with --direct and one phone.')
  const phoneOptions = optionsFor(values, around)
  if (values.live !== undefined) {
    if (values.direct) throw usage('--live follows the running lab’s clock: it does not go with --direct.')
    return livePhones(labOf(values), values.live, {
      count,
      firstMac,
      maxLoops: intOption(values['max-loops'], 'max-loops'),
      timings: parseTimings(values.timing ?? []),
      json: values.json === true,
      phone: phoneOptions,
    })
  }
  const link = values.interface === undefined ? undefined : linkOf(values.interface)
  const reports = await Promise.all(
    Array.from({ length: count }, async (_, i): Promise<PhoneReport> => {
      const options = phoneOptions(macPlus(firstMac, i))
      const report = await runPhone({ ...options, ...(link ? { link } : {}) })
      options.state.save()
      return report
    }),
  )
  printReports(reports, values.json === true)
  const want = values.expect ?? 'signed-in'
  return reports.every((r) => r.endState === want) ? 0 : 1
}

/** `phone reboot|power-cycle|hard-reset MAC`: a command left for a living phone through the admin API. */
async function commandPhone(values: Values, positionals: readonly string[]): Promise<number> {
  const [verb = '', target, ...extra] = positionals
  if (!(PHONE_COMMANDS as readonly string[]).includes(verb) || target === undefined || extra.length > 0)
    throw usage(`phone takes options, or one of ${PHONE_COMMANDS.join(', ')} and a MAC.`)
  const done = await labOf(values).commandPhone(target, verb)
  process.stdout.write(`${done.command} left for ${done.mac}\n`)
  return 0
}

/** The running lab's port map, state directory and scenario. */
async function surroundings(values: Values): Promise<Surroundings> {
  const answer = await labOf(values).endpoints()
  const story = storyOf(answer.scenarioFile)
  return {
    net: new PhoneNet(answer.endpoints, answer.siteAddresses),
    labStateDir: answer.stateDir,
    ...(story ? { story } : {}),
  }
}

/** One phone as the options say, by MAC: its stored state (hard-reset if asked), the user, the guesses. */
function optionsFor(values: Values, around: Surroundings): (mac: string) => PhoneOptions {
  const { net, story } = around
  const typed = whatIsTyped(values, story)
  let guesses
  try {
    guesses = { ...story?.guesses, ...parseGuesses(values.guess ?? []) }
  } catch (err) {
    throw usage((err as Error).message)
  }
  const stateDir = values.state ?? around.labStateDir ?? defaultStateDir()
  return (mac) => {
    const state = PhoneState.load(stateDir, mac, values.firmware ?? story?.firmware ?? '1.0.522.101')
    if (values['hard-reset']) state.hardReset()
    return {
      net,
      mac,
      signIn: typed.signIn,
      account: typed.account,
      password: typed.password,
      state,
      guesses: { ...DEFAULT_GUESSES, ...(values.sni ? { sni: true } : {}), ...guesses },
    }
  }
}

/** A real link for a phone with --interface: broadcast DHCP there, then the leased address on it. */
function linkOf(ifName: string): NonNullable<PhoneOptions['link']> {
  return {
    prepare: async () => {
      await ipCommand(['route', 'replace', '255.255.255.255/32', 'dev', ifName])
    },
    configure: async (lease: Lease) => {
      await ipCommand(['addr', 'replace', `${lease.address}/${lease.prefix}`, 'dev', ifName])
    },
  }
}

function printReports(reports: readonly PhoneReport[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2)}\n`)
    return
  }
  for (const r of reports) {
    process.stdout.write(`CX700 ${r.mac}\n`)
    for (const line of r.status) process.stdout.write(`  [screen] ${line}\n`)
    for (const s of r.steps)
      process.stdout.write(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.step.padEnd(22)} ${s.detail} (${s.ms} ms)\n`)
    process.stdout.write(`  → ${r.endState} in ${r.ms} ms\n`)
  }
}
