import type { PhoneContext, PhoneNetwork } from '../context.js'
import { PhoneHttp } from '../http.js'

/**
 * An HTTP connection to a URL's host as the phone makes it: the name through its resolver (an address literal
 * as it is), the port of the URL or the scheme, and for HTTPS the TLS its roots and clock accept. The
 * connection, or why there is none.
 */
export async function connect(ctx: PhoneContext, network: PhoneNetwork, u: URL): Promise<PhoneHttp | string> {
  const address = /^\d+\.\d+\.\d+\.\d+$/.test(u.hostname) ? u.hostname : await network.dns.address(u.hostname)
  const to = address
    ? ctx.net.target(address, Number(u.port || (u.protocol === 'https:' ? 443 : 80)), 'tcp')
    : undefined
  if (!to) return `${u.hostname} does not resolve or answer`
  if (u.protocol !== 'https:') return PhoneHttp.open(to.host, to.port, ctx.timeoutMs, ctx.net.localAddress)
  const tls = await ctx.tls(to.host, to.port, u.hostname)
  return 'socket' in tls ? new PhoneHttp(tls.socket) : `${tls.failure}: ${tls.reason}`
}
