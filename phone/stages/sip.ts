import { STATUS, ended, next, type Outcome, type PhoneContext, type PhoneNetwork } from '../context.js'
import { userAgent } from '../firmware.js'
import { PhoneSip, epidOf } from '../sip.js'
import type { TrustFailure } from '../trust.js'

/** The A-record fallbacks of §2.6, in order, when no SRV record names the pool. */
const FALLBACKS = [
  ['sipinternal', 5061],
  ['sipinternal', 443],
  ['sip', 5061],
  ['sip', 443],
  ['sipexternal', 5061],
  ['sipexternal', 443],
] as const

/**
 * §2.6's candidates, in order and asked lazily (a later name is looked up only when every earlier target
 * failed to answer): the records of each SRV name, then the A-record fallbacks.
 */
async function* targets(network: PhoneNetwork): AsyncGenerator<{ host: string; port: number }> {
  const { dns, sipDomain } = network
  for (const s of ['_sipinternaltls._tcp', '_sip._tls', '_sipinternal._tcp'])
    for (const f of await dns.srv(`${s}.${sipDomain}`)) yield { host: f.target, port: f.port }
  for (const [h, port] of FALLBACKS) yield { host: `${h}.${sipDomain}`, port }
}

/**
 * §2.6 "Connecting to Office Communications Server": the target walk, each over TLS checked as Windows CE
 * checks it; the walk goes on past a target that does not answer (to the next SRV name, then the A-record
 * fallbacks) and stops at one whose certificate fails.
 */
export async function poolStage(ctx: PhoneContext, network: PhoneNetwork): Promise<Outcome<PhoneSip>> {
  ctx.show(STATUS.connecting)
  let lastFailure: TrustFailure | 'unreachable' | undefined
  let tried = 0
  for await (const t of targets(network)) {
    tried++
    const address = await network.dns.address(t.host)
    const to = address ? ctx.net.target(address, t.port, 'tcp') : undefined
    if (!to) continue
    const tls = await ctx.tls(to.host, to.port, t.host)
    if ('socket' in tls) {
      ctx.step('tls', true, `${t.host}:${t.port} ${tls.socket.getProtocol() ?? ''}`)
      ctx.learnt.pool = t.host
      return next(
        new PhoneSip(
          tls.socket,
          ctx.options.signIn,
          `${network.lease.address}:5061`,
          userAgent(ctx.state.firmware),
          epidOf(ctx.options.mac),
        ),
      )
    }
    lastFailure = tls.failure
    ctx.step('tls', false, `${t.host}:${t.port}: ${tls.reason}`)
    if (tls.failure !== 'unreachable') break
  }
  if (lastFailure === 'sha2-root') return ended('certificate-loop')
  if (lastFailure === 'sha2') return ended('tls-failed')
  if (lastFailure && lastFailure !== 'unreachable') return ended('tls-untrusted')
  ctx.step('sip-targets', false, `none of ${tried} targets answered`)
  return ended('pool-not-found')
}

/** §2.7: REGISTER, the NTLM challenge, 200 with Expires; the phone now counts as having signed in. */
export async function registerStage(
  ctx: PhoneContext,
  sip: PhoneSip,
): Promise<Outcome<{ sip: PhoneSip; expiresS: number }>> {
  const { account, password } = ctx.options
  const { response: registered, refused } = await sip.register(account, password, ctx.timeoutMs * 2)
  const expires = registered?.headers.get('expires')
  const ok = registered?.status === 200 && refused === undefined
  ctx.step(
    'register',
    ok,
    refused !== undefined
      ? `REGISTER → ${refused} (the phone does not trust the pool's answer)`
      : `REGISTER → ${registered?.status ?? 'no answer'}${expires ? `, Expires ${expires}` : ''}`,
  )
  if (!ok) {
    sip.close()
    if (refused !== undefined) return ended('sign-in-refused')
    // A refusal (401/403/404) is the user's to fix; a pool that does not answer or answers 5xx (busy, down)
    // is one the phone tries again later (RFC 3261 §21.5: 5xx is the server's failure, not the request's).
    const status = registered?.status
    return ended(
      status === undefined || status >= 500 || status === 408 ? 'pool-not-found' : 'sign-in-refused',
    )
  }
  ctx.state.everSignedIn = true
  ctx.state.user = account
  return next({ sip, expiresS: Number(expires ?? 900) || 900 })
}
