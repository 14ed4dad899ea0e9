import 'reflect-metadata'
import {
  PhoneContext,
  LATEST_FIRMWARE,
  isNewer,
  type EndState,
  type Outcome,
  type PhoneGuesses,
  type PhoneNetwork,
  type PhoneOptions,
  type PhoneReport,
} from './context.js'
import type { PhoneSip } from './sip.js'
import type { Provisioned } from './stages/provisioning.js'
import { dcLocatorStage } from './stages/dc-locator.js'
import { dhcpStage } from './stages/dhcp.js'
import { exchangeStage } from './stages/exchange.js'
import { provisioningStage } from './stages/provisioning.js'
import { downloadAddressBook } from './stages/address-book.js'
import { poolStage, registerStage } from './stages/sip.js'
import { timeStage } from './stages/time.js'
import { trustStage } from './stages/trust.js'
import { firstUpdateStage, updateCheck } from './stages/update.js'

export {
  DEFAULT_GUESSES,
  PhoneContext,
  type EndState,
  type PhoneGuesses,
  type PhoneOptions,
  type PhoneReport,
} from './context.js'

/** A phone that signed in: what it keeps while it lives (the pool connection, what provisioning said). */
export interface SignedIn {
  readonly sip: PhoneSip
  readonly network: PhoneNetwork
  readonly props: Provisioned
  /** The Expires the pool granted, seconds, and the lab time its 200 arrived (the refresh counts from it). */
  readonly expiresS: number
  readonly registeredAt: number
}

/** How a sign-in ended, and the session when the phone is signed in. */
export interface SignInResult {
  readonly end: EndState
  readonly session?: SignedIn
}

/**
 * The emulated CX700 (spec §1, §9): boots, signs in and syncs the way the phone does, through the network
 * only. A boot is the sequence of the spec's stages over one context — DHCP, the first update check, NTP, the
 * DC locator, the trust bootstrap (LDAP and /certsrv), the SIP target walk over TLS checked as Windows CE
 * checks it, REGISTER, provisioning, the Device Update Service, Exchange (Autodiscover and EWS) — each in
 * phone/stages/. A stage either hands its result to the next or ends the boot in a named state; the phone's
 * stored state (phone/state.ts) outlives the boot, so booting again is running the sequence again. One pass
 * here; phone/life.ts keeps the phone living after it.
 */
export async function runPhone(options: PhoneOptions): Promise<PhoneReport> {
  const ctx = new PhoneContext(options)
  const end = await boot(ctx)
  if (end !== 'updating') return ctx.report(end)
  // It installed the image it downloaded at power-on and restarted: the boot that counts is the next one.
  const again = new PhoneContext(options)
  return again.report(await boot(again))
}

/**
 * One boot, then the phone is switched off: a downloaded update counts as installed. A phone nobody has
 * signed in to that downloads an image at power-on is idle, so it installs it and restarts (`updating`)
 * before anyone signs in (spec §6.3, §6.4's state machine: download → wait idle → flash → reboot).
 */
export async function boot(ctx: PhoneContext): Promise<EndState> {
  const on = await powerOn(ctx)
  if ('end' in on) return on.end
  if (ctx.state.pendingFirmware) {
    installPending(ctx)
    return 'updating'
  }
  const result = await signIn(ctx, on.next)
  result.session?.sip.close()
  if (ctx.state.pendingFirmware) {
    ctx.state.firmware = ctx.state.pendingFirmware
    ctx.state.pendingFirmware = undefined
  }
  return result.end
}

/** Installs the image the phone downloaded (while idle, §6.3), to run after the restart. */
export function installPending(ctx: PhoneContext): void {
  const s = ctx.state
  if (!s.pendingFirmware) return
  ctx.step('install', true, `installed ${s.pendingFirmware} over ${s.firmware} while idle; rebooting`)
  s.firmware = s.pendingFirmware
  s.pendingFirmware = undefined
  s.save()
}

/** Power-on: DHCP, then the first update check of a never-signed-in phone (§2.1, §6.1). */
export async function powerOn(ctx: PhoneContext): Promise<Outcome<PhoneNetwork>> {
  const network = await dhcpStage(ctx)
  if ('end' in network) return network
  await firstUpdateStage(ctx, network.next)
  return network
}

/** Sign-in on a network the phone has: time, DC, trust, pool, REGISTER, provisioning, updates, Exchange. */
export async function signIn(ctx: PhoneContext, network: PhoneNetwork): Promise<SignInResult> {
  const time = await timeStage(ctx, network)
  if ('end' in time) return { end: time.end }
  const dc = await dcLocatorStage(ctx, network)
  if ('end' in dc) return { end: dc.end }
  const trust = await trustStage(ctx, network, dc.next)
  if ('end' in trust) return { end: trust.end }
  const pool = await poolStage(ctx, network)
  if ('end' in pool) return { end: pool.end }
  const registered = await registerStage(ctx, pool.next)
  if ('end' in registered) return { end: registered.end }
  const sip = registered.next.sip
  const registeredAt = ctx.clock.now()
  const props = await provisioningStage(ctx, sip)
  if (ctx.firmware.onR2Pool === 'crashes') {
    // F16 (§6.4, S12): an OCS 2007 build gets almost to the end of the login, then crashes — before it keeps
    // anything provisioned, so it never learns the R2 pool's update service.
    ctx.step('crash', false, `${ctx.state.firmware} (${ctx.firmware.label}) crashed after provisioning`)
    sip.close()
    return { end: 'crashed-after-sign-in' }
  }
  if (props.updatesServerInternalUrl) ctx.state.dusUrl = props.updatesServerInternalUrl
  // After sign-in the trace (S1d steps 22–26) has Autodiscover and the CAS first, then the update check
  // with the provisioned URL (§6.2).
  const exchange = await exchangeStage(ctx, network, props)
  if (ctx.state.dusUrl) await updateCheck(ctx, network, ctx.state.dusUrl, 'update (provisioned)')
  // §1 step 9: the address book from the URL provisioning gave (then with the daily cycle, §4.3).
  if (props.absInternalServerUrl) await downloadAddressBook(ctx, network, props.absInternalServerUrl)
  ctx.learnt.firmware = ctx.state.firmware
  const session: SignedIn = { sip, network, props, expiresS: registered.next.expiresS, registeredAt }
  if (!exchange) return { end: 'signed-in-without-exchange', session }
  const installed = ctx.state.pendingFirmware ?? ctx.state.firmware
  return { end: isNewer(LATEST_FIRMWARE, installed) ? 'signed-in-not-updated' : 'signed-in', session }
}

/**
 * Reads `key=value` guess overrides (the CLI's --guess): option119=ascii|rfc3397|both, sni=true|false,
 * provisioning=v2|v1, autodiscover=https-autodiscover,https-smtp,http-redirect, ewsUrl=EwsUrl,ASUrl,
 * kerberos=rc4-hmac|aes|off, tlsVersion=TLSv1|TLSv1.2, unsetClock=ISO date, wins=then-dns|only,
 * anchors=self-signed|installed. Throws an Error naming the bad one.
 */
export function parseGuesses(pairs: readonly string[]): Partial<PhoneGuesses> {
  const out: Record<string, unknown> = {}
  const oneOf = <T extends string>(k: string, v: string, allowed: readonly T[]): T => {
    if (!(allowed as readonly string[]).includes(v))
      throw new Error(`--guess ${k} takes ${allowed.join(' | ')}, not "${v}"`)
    return v as T
  }
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    const [k, v] = at > 0 ? [pair.slice(0, at), pair.slice(at + 1)] : [pair, '']
    switch (k) {
      case 'option119':
        out.option119 = oneOf(k, v, ['ascii', 'rfc3397', 'both'] as const)
        break
      case 'sni':
        out.sni = oneOf(k, v, ['true', 'false'] as const) === 'true'
        break
      case 'provisioning':
        out.provisioning = oneOf(k, v, ['v2', 'v1'] as const)
        break
      case 'anchors':
        out.anchors = oneOf(k, v, ['self-signed', 'installed'] as const)
        break
      case 'autodiscover':
        out.autodiscover = v
          .split(',')
          .map((x) => oneOf(k, x, ['https-smtp', 'https-autodiscover', 'http-redirect'] as const))
        break
      case 'ewsUrl':
        out.ewsUrl = v.split(',').map((x) => oneOf(k, x, ['EwsUrl', 'ASUrl'] as const))
        break
      case 'kerberos':
        out.kerberos = oneOf(k, v, ['rc4-hmac', 'aes', 'off'] as const)
        break
      case 'tlsVersion':
        out.tlsVersion = oneOf(k, v, ['TLSv1', 'TLSv1.2'] as const)
        break
      case 'unsetClock':
        if (Number.isNaN(Date.parse(v))) throw new Error(`--guess unsetClock takes an ISO date, not "${v}"`)
        out.unsetClock = v
        break
      case 'wins':
        out.wins = oneOf(k, v, ['then-dns', 'only'] as const)
        break
      case 'ldapBind':
        out.ldapBind = oneOf(k, v, ['spnego', 'simple'] as const)
        break
      default:
        throw new Error(
          `--guess ${k} is not a guess the emulator has (option119, sni, provisioning, autodiscover, ewsUrl, kerberos, tlsVersion, unsetClock, wins, anchors, ldapBind)`,
        )
    }
  }
  return out
}
