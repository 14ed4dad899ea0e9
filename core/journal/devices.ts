/** What the lab knows of one device. */
export interface DeviceRef {
  readonly mac?: string
  readonly ip?: string
  readonly user?: string
}

export function normalizeMac(mac: string): string {
  const hex = mac.replace(/[^0-9a-fA-F]/g, '').toLowerCase()
  return hex.length === 12 ? (hex.match(/../g) ?? []).join(':') : mac.toLowerCase()
}

interface Entry {
  mac?: string
  ip?: string
  user?: string
}

/**
 * Device identity: the DHCP lease ties MAC ↔ IP, a bind or sign-in ties the IP to a user, and every later
 * event from that IP carries the whole identity. One IP maps to the newest device that held it.
 */
export class DeviceRegistry {
  readonly #byMac = new Map<string, Entry>()
  readonly #byIp = new Map<string, Entry>()
  /** What `resolve` answered for an address alone, until the next `learn` (servers ask once per request). */
  #byPeer = new Map<string, DeviceRef | undefined>()

  learn(ref: DeviceRef): void {
    this.#byPeer = new Map()
    const mac = ref.mac !== undefined ? normalizeMac(ref.mac) : undefined
    let entry =
      (mac !== undefined ? this.#byMac.get(mac) : undefined) ??
      (ref.ip !== undefined ? this.#byIp.get(ref.ip) : undefined)
    if (!entry || (mac !== undefined && entry.mac !== undefined && entry.mac !== mac)) entry = {}
    if (mac !== undefined) {
      entry.mac = mac
      this.#byMac.set(mac, entry)
    }
    if (ref.ip !== undefined) {
      const previous = this.#byIp.get(ref.ip)
      if (previous && previous !== entry && previous.ip === ref.ip) delete previous.ip
      entry.ip = ref.ip
      this.#byIp.set(ref.ip, entry)
    }
    if (ref.user !== undefined) entry.user = ref.user
  }

  /** The fullest identity known for what a server saw (its own device hint and/or the peer address). */
  resolve(hint: DeviceRef | undefined, peerAddress?: string): DeviceRef | undefined {
    if (hint === undefined && peerAddress !== undefined) {
      if (this.#byPeer.has(peerAddress)) return this.#byPeer.get(peerAddress)
      const found = this.#resolve(undefined, peerAddress)
      if (this.#byPeer.size > 10_000) this.#byPeer = new Map()
      this.#byPeer.set(peerAddress, found ? Object.freeze(found) : found)
      return found
    }
    return this.#resolve(hint, peerAddress)
  }

  #resolve(hint: DeviceRef | undefined, peerAddress?: string): DeviceRef | undefined {
    const mac = hint?.mac !== undefined ? normalizeMac(hint.mac) : undefined
    const ip = hint?.ip ?? peerAddress
    const entry =
      (mac !== undefined ? this.#byMac.get(mac) : undefined) ??
      (ip !== undefined ? this.#byIp.get(ip) : undefined)
    const out: { mac?: string; ip?: string; user?: string } = {}
    const m = mac ?? entry?.mac
    const i = ip ?? entry?.ip
    const u = hint?.user ?? entry?.user
    if (m !== undefined) out.mac = m
    if (i !== undefined) out.ip = i
    if (u !== undefined) out.user = u
    return Object.keys(out).length > 0 ? out : undefined
  }

  list(): DeviceRef[] {
    const seen = new Set<Entry>([...this.#byMac.values(), ...this.#byIp.values()])
    return [...seen].map((e) => ({ ...e }))
  }
}
