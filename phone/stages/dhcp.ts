import { dhcpLease } from '../dhcp.js'
import { PhoneResolver } from '../dns.js'
import { ended, next, type Outcome, type PhoneContext, type PhoneNetwork } from '../context.js'

/** §2.1: a lease (broadcast on a real link), then a resolver over its DNS server and suffixes (§2.2). */
export async function dhcpStage(ctx: PhoneContext): Promise<Outcome<PhoneNetwork>> {
  const o = ctx.options
  await o.link?.prepare()
  const lease = await dhcpLease(ctx.net, o.mac, {
    accept119: ctx.guesses.option119,
    timeoutMs: ctx.timeoutMs,
    attempts: 2,
  })
  if (!lease) {
    ctx.step('dhcp', false, 'no offer')
    return ended('no-address')
  }
  ctx.step(
    'dhcp',
    true,
    `${lease.address}, option 15 "${lease.domain}", 119 [${lease.searchList.join(', ')}]`,
  )
  ctx.learnt.address = lease.address
  await o.link?.configure(lease)
  const suffixes = [lease.domain, ...lease.searchList].filter(Boolean)
  const dnsServer = lease.dns[0]
  if (!dnsServer) {
    ctx.step('dns', false, 'the lease names no DNS server')
    return ended('dc-not-found')
  }
  const dns = new PhoneResolver(ctx.net, dnsServer, suffixes, ctx.timeoutMs)
  const sipDomain = (o.signIn.split('@')[1] ?? '').toLowerCase()
  return next({ lease, dns, sipDomain })
}
