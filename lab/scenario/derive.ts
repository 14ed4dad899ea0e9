import type { ScenarioDocument } from './schema.js'
import type { HostRole } from '../../core/site.js'
import type { Host, Network, Site, User } from '../../core/site.js'

function ipv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
}
function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0)
}

/** The nth host address of a CIDR block (1 = first usable). */
export function hostAddress(cidr: string, n: number): string {
  const [base, bits] = cidr.split('/')
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0
  return ipv4(((ipv4ToInt(base ?? '0.0.0.0') & mask) + n) >>> 0)
}

export function deriveSite(doc: ScenarioDocument['site']): Site {
  const sipDomain = doc.sipDomain.toLowerCase().replace(/\.$/, '')
  const adDomain = (doc.adDomain ?? sipDomain).toLowerCase()
  const dhcpDomain = (doc.dhcpDomain ?? adDomain).toLowerCase()
  return {
    sipDomain,
    smtpDomain: (doc.smtpDomain ?? sipDomain).toLowerCase(),
    adDomain,
    netbiosName: (doc.netbiosName ?? adDomain.split('.')[0] ?? 'LAB').toUpperCase().slice(0, 15),
    dhcpDomain,
    searchList: doc.searchList ?? [dhcpDomain],
    subnet: doc.subnet,
    labAddress: doc.labAddress ?? hostAddress(doc.subnet, 1),
  }
}

export function deriveUsers(docs: ScenarioDocument['users'], site: Site): User[] {
  return docs.map(({ signInAddress, userName, email, displayName, ...given }) => {
    const local = signInAddress.split('@')[0] ?? signInAddress
    // `given`: the flags and what the servers add to a user (`userFields`), as written with defaults filled in.
    return {
      ...given,
      signInAddress: signInAddress.toLowerCase(),
      userName: userName ?? `${site.netbiosName}\\${local}`,
      email: (email ?? `${local}@${site.smtpDomain}`).toLowerCase(),
      displayName: displayName ?? local.charAt(0).toUpperCase() + local.slice(1),
    }
  })
}

/**
 * Every host a CX700 looks for, named as a default OCS 2007 R2 / Exchange 2007 deployment names them, all on
 * the lab address: a DC that is also the enterprise CA, the OCS pool (front end, Device Update Service,
 * address book), the Exchange server, and the time server.
 */
export function deriveHosts(docs: ScenarioDocument['hosts'], site: Site): Host[] {
  if (docs)
    return docs.map((h) => ({
      name: h.name.toLowerCase(),
      roles: h.roles,
      address: h.address ?? site.labAddress,
    }))
  const host = (name: string, roles: HostRole[]): Host => ({ name, roles, address: site.labAddress })
  return [
    host(`dc1.${site.adDomain}`, ['dc', 'ca']),
    host(`ocspool.${site.sipDomain}`, ['pool', 'dus', 'abs']),
    host(`mail.${site.smtpDomain}`, ['exchange']),
    host(`time.${site.sipDomain}`, ['ntp']),
  ]
}

export function deriveNetwork(doc: ScenarioDocument['network']): Network {
  const address = doc.address ?? (doc.mode === 'loopback' ? '127.0.0.1' : '0.0.0.0')
  return {
    mode: doc.mode,
    address,
    portBase: doc.portBase,
    ...(doc.interface !== undefined ? { interface: doc.interface } : {}),
  }
}
