import { STATUS, ended, next, type Outcome, type PhoneContext, type PhoneNetwork } from '../context.js'

/** Where the phone reaches the domain controller's LDAP. */
export interface DomainController {
  readonly name: string
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
    const hit = candidates.find((r) => r.type === 'SRV')
    if (hit?.type === 'SRV') return { target: hit.target.replace(/\.$/, ''), port: hit.port }
  }
  return undefined
}

/** §2.4: "Locating Domain Controller" — the DC's SRV record and its address. */
export async function dcLocatorStage(
  ctx: PhoneContext,
  network: PhoneNetwork,
): Promise<Outcome<DomainController>> {
  ctx.show(STATUS.locating)
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
  return next({ name: dc.target, host: to.host, port: to.port })
}
