import { next, type Outcome, type PhoneContext, type PhoneNetwork } from '../context.js'
import { ntpOffset } from '../ntp.js'

/**
 * §2.3: the clock from _ntp._udp.<SIP domain>, else time.windows.com. Without an answer the phone carries on
 * with its unset clock (F5) and fails later, where the time matters (Kerberos, certificate dates).
 */
export async function timeStage(ctx: PhoneContext, network: PhoneNetwork): Promise<Outcome<number>> {
  const { dns, sipDomain } = network
  const srv = await dns.srv(`_ntp._udp.${sipDomain}`)
  const ntpHost = srv[0]?.target ?? 'time.windows.com'
  const ntpAddress = await dns.address(ntpHost)
  const time = ntpAddress
    ? await ntpOffset(ctx.net, ntpAddress, ctx.timeoutMs, ctx.clock)
    : { problem: `${ntpHost} does not resolve` }
  if (!('offsetMs' in time)) {
    const unset = Date.parse(ctx.guesses.unsetClock)
    ctx.step('ntp', false, `${time.problem}: the clock stays unset (${ctx.guesses.unsetClock})`)
    ctx.state.clockOffsetMs = unset - ctx.clock.now()
    ctx.learnt.clockOffsetMs = Math.round(ctx.state.clockOffsetMs)
    return next(ctx.state.clockOffsetMs)
  }
  ctx.step('ntp', true, `${ntpHost}: clock set, offset ${Math.round(time.offsetMs)} ms`)
  ctx.state.clockOffsetMs = time.offsetMs
  ctx.learnt.ntpServer = ntpAddress
  ctx.learnt.clockOffsetMs = Math.round(time.offsetMs)
  return next(time.offsetMs)
}
