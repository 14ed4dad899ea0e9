import { performance } from 'node:perf_hooks'
import { systemClock, type LabClock } from '../core/clock.js'
import { firmwareProfile, type FirmwareProfile } from './firmware.js'
import type { TLSSocket } from 'node:tls'
import type { EndState } from '../lab/scenario/schema.js'
import type { Lease } from './dhcp.js'
import type { Credentials } from './kerberos.js'
import type { HttpAnswer, PhoneHttp } from './http.js'
import { withNtlm } from './http-auth.js'
import type { PhoneResolver } from './dns.js'
import type { PhoneNet } from './net.js'
import type { PhoneState } from './state.js'
import { phoneTls, type Anchors, type TrustFailure } from './trust.js'

/** How a boot ends: the state the phone is left in (the CLI, verify and expect: name these). */
export type { EndState } from '../lab/scenario/schema.js'

/** The spec's GUESSes, each an option whose default is the spec's best guess (§10). */
export interface PhoneGuesses {
  /** How option 119 is read (§2.1, §10.16): the guide's `;` string. */
  readonly option119: 'ascii' | 'rfc3397' | 'both'
  /**
   * Whether the TLS ClientHello names the server (CE-era clients probably do not). Unset: no SNI on a real
   * segment, SNI in loopback mode — where every lab host shares 127.0.0.1, the name stands in for the
   * distinct addresses of a real site (the lab picks certificates by address first).
   */
  readonly sni: boolean | undefined
  /** Which provisioning package is subscribed to (§10.10): v2 on every build (ADR 0024, from sipe). */
  readonly provisioning: 'v2' | 'v1'
  /** The Autodiscover URLs tried, in order (§3.1, §10.2). */
  readonly autodiscover: readonly ('https-smtp' | 'https-autodiscover' | 'http-redirect')[]
  /** Which element carries the EWS URL (§10.4): EwsUrl if present, else ASUrl. */
  readonly ewsUrl: readonly ('EwsUrl' | 'ASUrl')[]
  /**
   * Kerberos (§2.5: the trace fetches /certsrv with a ticket; §10.11: the LDAP bind is presumably Kerberos):
   * the encryption types the phone knows — `rc4-hmac` alone (GUESS: Windows CE 6 predates AES in
   * Kerberos), `aes` (AES and RC4) — or `off`: NTLM everywhere.
   */
  readonly kerberos: 'rc4-hmac' | 'aes' | 'off'
  /** The newest TLS the phone speaks: Windows CE 6 has TLS 1.0 only. */
  readonly tlsVersion: 'TLSv1' | 'TLSv1.2'
  /**
   * What the phone's clock says when no NTP server answered (F5: it carries on with it). Sources are silent;
   * a Windows CE device's clock after power loss starts at a fixed date (GUESS: 2006-01-01).
   */
  readonly unsetClock: string
  /**
   * With WINS offered (DHCP option 44) and a `DOMAIN\user` name: the phone asks WINS for the domain's
   * `<1C>` name first (§2.4, S4). When WINS does not answer (F3) it walks DNS as without WINS (`then-dns`,
   * GUESS) or stays at "Locating Domain Controller" (`only`).
   */
  readonly wins: 'then-dns' | 'only'
  /** Which installed certificates anchor a chain: the self-signed among them, or all (phone/trust.ts). */
  readonly anchors: Anchors
  /**
   * How the phone binds to its DC as the user (§10.11, GUESS 11): SASL GSS-SPNEGO with a Kerberos ticket for
   * `ldap/<DC>` from its TGT (`spnego`; a simple bind when it has no ticket), or a simple bind (`simple`).
   */
  readonly ldapBind: 'spnego' | 'simple'
}
export const DEFAULT_GUESSES: PhoneGuesses = {
  option119: 'ascii',
  sni: undefined,
  provisioning: 'v2',
  // autodiscover.<SMTP domain> first: the only way the guide's trace shows (S1d step 22; ADR 0023).
  autodiscover: ['https-autodiscover', 'https-smtp', 'http-redirect'],
  ewsUrl: ['EwsUrl', 'ASUrl'],
  kerberos: 'rc4-hmac',
  tlsVersion: 'TLSv1',
  unsetClock: '2006-01-01T00:00:00Z',
  wins: 'then-dns',
  anchors: 'self-signed',
  // SASL/Kerberos as the user: the spec's best guess (§10.11, GUESS 11; ADR 0030).
  ldapBind: 'spnego',
}

export { LATEST_FIRMWARE } from './firmware.js'

export interface PhoneOptions {
  readonly net: PhoneNet
  readonly mac: string
  /** What the user types: sign-in address, user name (DOMAIN\user or user@domain), password. */
  readonly signIn: string
  readonly account: string
  readonly password: string
  readonly state: PhoneState
  readonly guesses?: Partial<PhoneGuesses>
  /** Per network exchange. */
  readonly timeoutMs?: number
  /**
   * The time the phone lives in: the lab's clock when the phone runs in the lab's process (a fast or advanced
   * lab clock moves the phone's clock and its timers too), else real time.
   */
  readonly clock?: LabClock
  /** On a real link: makes broadcast possible before the lease, and puts the leased address on the link. */
  readonly link?: {
    readonly prepare: () => Promise<void>
    readonly configure: (lease: Lease) => Promise<void>
  }
}

export interface PhoneStep {
  readonly step: string
  readonly ok: boolean
  readonly detail: string
  readonly ms: number
}

export interface PhoneReport {
  readonly mac: string
  readonly endState: EndState
  /** The status lines the phone showed, in order. */
  readonly status: readonly string[]
  readonly steps: readonly PhoneStep[]
  /** What the phone learnt: address, clock offset, DC, roots, pool, e-mail, EWS URL, mailbox counts. */
  readonly learnt: Record<string, unknown>
  readonly ms: number
}

/** The phone's status lines (spec §2.4, §2.5). */
export const STATUS = {
  locating: 'Locating Domain Controller',
  downloading: 'Downloading Certificate',
  installing: 'Installing Certificate',
  connecting: 'Connecting to Office Communications Server',
  cannotValidate: 'Cannot validate server certificate',
} as const

/** The steps one boot keeps (a living phone records every poll and refresh; older ones are dropped). */
export const MAX_STEPS = 5_000

/** What a stage hands on: its result for the stages after it, or the end of the boot. */
export type Outcome<T> = { readonly next: T } | { readonly end: EndState }
export const next = <T>(value: T): Outcome<T> => ({ next: value })
export const ended = (state: EndState): { readonly end: EndState } => ({ end: state })

/** What the DHCP stage gives every later stage: the lease, and a resolver with the lease's suffixes. */
export interface PhoneNetwork {
  readonly lease: Lease
  readonly dns: PhoneResolver
  /** The right-hand side of the sign-in address (spec: SIP domain). */
  readonly sipDomain: string
}

export type TlsOutcome = { socket: TLSSocket } | { failure: TrustFailure | 'unreachable'; reason: string }

/**
 * What every stage of a boot shares: what the user typed, the guesses in force, the phone's stored state
 * (kept across boots), and the record of this boot (steps, status lines, what was learnt). A boot is one
 * context; the phone boots again with a new context over the same state.
 */
export class PhoneContext {
  readonly options: PhoneOptions
  readonly guesses: PhoneGuesses
  readonly state: PhoneState
  readonly net: PhoneNet
  readonly timeoutMs: number
  readonly clock: LabClock
  readonly sni: boolean
  readonly steps: PhoneStep[] = []
  readonly status: string[] = []
  readonly learnt: Record<string, unknown> = {}
  /** This boot's Kerberos credentials: the TGT and where the KDC is (undefined: none, NTLM then). */
  kerberos: { readonly tgt: Credentials; readonly kdc: string } | undefined
  readonly #t0 = performance.now()
  #t = this.#t0

  constructor(options: PhoneOptions) {
    this.options = options
    this.guesses = { ...DEFAULT_GUESSES, ...options.guesses }
    this.state = options.state
    this.net = options.net.forDevice(options.mac)
    this.timeoutMs = options.timeoutMs ?? 2_000
    this.clock = options.clock ?? systemClock()
    this.sni = this.guesses.sni ?? options.net.loopback
  }

  /** Records a step of the boot; returns `ok`. A phone living for days keeps its newest MAX_STEPS. */
  step(step: string, ok: boolean, detail: string): boolean {
    const now = performance.now()
    if (this.steps.length >= MAX_STEPS) this.steps.splice(0, this.steps.length - MAX_STEPS + 1)
    this.steps.push({ step, ok, detail, ms: Math.round((now - this.#t) * 10) / 10 })
    this.#t = now
    return ok
  }

  /** Shows a status line (once while it stays on screen). */
  show(line: string): void {
    if (this.status.at(-1) !== line) this.status.push(line)
  }

  /** The phone's clock: the time it lives in, moved by the offset NTP set. */
  now(): Date {
    return new Date(this.clock.now() + this.state.clockOffsetMs)
  }

  /** What the phone's firmware does differently (phone/firmware.ts). */
  get firmware(): FirmwareProfile {
    return firmwareProfile(this.state.firmware)
  }

  /** A TLS connection as the phone makes it, checked against the roots it holds and its own clock. */
  tls(host: string, port: number, name: string): Promise<TlsOutcome> {
    return phoneTls(host, port, name, this.state.roots(), this.now(), {
      sni: this.sni,
      timeoutMs: this.timeoutMs,
      maxVersion: this.guesses.tlsVersion,
      anchors: this.guesses.anchors,
      net: this.net,
    })
  }

  /** An HTTP request on `conn` authenticated as the user (NTLM, in the scheme the server offers). */
  authenticated(
    conn: PhoneHttp,
    method: 'GET' | 'POST',
    path: string,
    host: string,
    body = '',
    headers: Readonly<Record<string, string>> = {},
  ): Promise<HttpAnswer | undefined> {
    const { account, password } = this.options
    return withNtlm(conn, method, path, host, account, password, body, headers, this.timeoutMs)
  }

  report(endState: EndState): PhoneReport {
    return {
      mac: this.options.mac,
      endState,
      status: this.status,
      steps: this.steps,
      learnt: this.learnt,
      ms: Math.round(performance.now() - this.#t0),
    }
  }
}

/** Whether version `a` is newer than `b` (dotted numbers). */
export const isNewer = (a: string, b: string): boolean => {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++)
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0)
  return false
}
