import { srvOrder } from '../dns.js'
import { winsQuery } from '../wins.js'
import { STATUS, ended, next, type Outcome, type PhoneContext, type PhoneNetwork } from '../context.js'

/** Where the phone reaches the domain controller's LDAP. */
export interface DomainController {
  readonly name: string
  /** Its address in the site (a DC is also the KDC: port 88 there). */
  readonly address: string
  readonly host: string
  readonly port: number
}

/** The DC-locator SRV record: the UPN's domain, or the NetBIOS name walked over the suffixes (§2.4). */
async function locate(
  ctx: PhoneContext,
  network: PhoneNetwork,
): Promise<{ target: string; port: number } | undefined> {
  const { account } = ctx.options
  const { dns, lease } = network
  if (!account.includes('\\'))
    return (await dns.srv(`_ldap._tcp.dc._msdcs.${account.split('@')[1] ?? ''}`))[0]
  const netbios = account.split('\\')[0] ?? ''
  for (const suffix of ['', lease.domain, ...lease.searchList]) {
    const candidates = await dns.query(`_ldap._tcp.dc._msdcs.${netbios}${suffix ? `.${suffix}` : ''}`, 'SRV')
    // RFC 2782's order, not the order the server returned them in (departure 8 of issue 35).
    const first = srvOrder(candidates)[0]
    if (first) return first
  }
  return undefined
}

/**
 * §2.4: with WINS offered and a `DOMAIN\\user` name, WINS is asked for the domain's <1C> name (its
 * domain controllers) first. Undefined: WINS gave nothing, so the DNS walk decides.
 */
async function fromWins(
  ctx: PhoneContext,
  network: PhoneNetwork,
): Promise<Outcome<DomainController> | undefined> {
  const { account } = ctx.options
  const servers = network.lease.wins
  if (!account.includes('\\') || servers.length === 0) return undefined
  const domain = account.split('\\')[0]!.toUpperCase().slice(0, 15)
  const trace: string[] = []
  const answer = await winsQuery(ctx.net, servers, { name: domain, suffix: 0x1c, scope: '' }, trace)
  const asked = `${domain}<1C> (${trace.length} quer${trace.length === 1 ? 'y' : 'ies'})`
  const address = answer.kind === 'found' ? answer.addresses[0] : undefined
  const to = address ? ctx.net.target(address, 389, 'tcp') : undefined
  if (address && to) {
    ctx.step('wins', true, `${asked} → ${answer.kind === 'found' ? answer.addresses.join(', ') : ''}`)
    ctx.learnt.dc = address
    return next({ name: address, address, host: to.host, port: to.port })
  }
  ctx.step(
    'wins',
    false,
    `${asked}: ${answer.kind === 'negative' ? `negative from ${answer.server}` : 'no answer'}`,
  )
  if (answer.kind === 'no answer' && ctx.guesses.wins === 'only') return ended('dc-not-found')
  return undefined
}

/** §2.4: "Locating Domain Controller" — WINS when offered, else the DC's SRV record and its address. */
export async function dcLocatorStage(
  ctx: PhoneContext,
  network: PhoneNetwork,
): Promise<Outcome<DomainController>> {
  ctx.show(STATUS.locating)
  const wins = await fromWins(ctx, network)
  if (wins) return wins
  const dc = await locate(ctx, network)
  const address = dc ? await network.dns.address(dc.target) : undefined
  const to = dc && address ? ctx.net.target(address, dc.port, 'tcp') : undefined
  if (!dc || !to) {
    ctx.step(
      'dc-locator',
      false,
      dc ? `${dc.target}:${dc.port}` : 'no _ldap._tcp.dc._msdcs record for any candidate',
    )
    return ended('dc-not-found')
  }
  ctx.step('dc-locator', true, `${dc.target}:${dc.port}`)
  ctx.learnt.dc = dc.target
  return next({ name: dc.target, address: address!, host: to.host, port: to.port })
}
