import { networkInterfaces } from 'node:os'

/** A link the lab serves: its own address on it, the mask, and every IPv4 address of this host. */
export interface NamedLink {
  readonly address: string
  readonly netmask: string
  readonly own: ReadonlySet<string>
}

const toInt = (ip: string): number => ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0)

/** The named link as the lab sees it now (its address and mask from the interface). */
export function namedLink(address: string, netmask: string): NamedLink {
  const own = new Set(
    Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((a) => a.family === 'IPv4')
      .map((a) => a.address),
  )
  return { address, netmask, own }
}

/**
 * Why a source address did not come over the named link, or undefined when it did: a client with no
 * address yet (0.0.0.0), or an address of the link's subnet that is not this host's own (a device, a relay
 * agent). Loopback and the host's own addresses are other links, whatever the socket was bound to.
 */
export function offLink(source: string, link: NamedLink): string | undefined {
  if (source === '0.0.0.0') return undefined
  if (source.startsWith('127.')) return `${source} is loopback, not the named link`
  if (link.own.has(source)) return `${source} is this host's own address, not a device on the named link`
  const mask = toInt(link.netmask)
  if ((toInt(source) & mask) >>> 0 !== (toInt(link.address) & mask) >>> 0)
    return `${source} is not on the named link's subnet`
  return undefined
}
