import type { DeviceRef } from './journal/devices.js'
import { normalizeMac } from './journal/devices.js'

/**
 * A server's configuration for single devices beside the one every other device gets: what one trainee's
 * phone meets while its exercise runs (issue 38). Keyed by MAC; a request's device is found from its peer
 * address through the journal's device table (a DHCP lease), as device-scoped faults find it.
 */
export class DeviceConfigs<C> {
  readonly #byMac = new Map<string, C>()
  readonly #resolve: (address: string) => DeviceRef | undefined

  constructor(resolve: (address: string) => DeviceRef | undefined) {
    this.#resolve = resolve
  }

  /** Gives a device its own configuration, or (undefined) takes it back to the one every device gets. */
  set(mac: string, config: C | undefined): void {
    const key = normalizeMac(mac)
    if (config === undefined) this.#byMac.delete(key)
    else this.#byMac.set(key, config)
  }

  get size(): number {
    return this.#byMac.size
  }

  entries(): IterableIterator<[string, C]> {
    return this.#byMac.entries()
  }

  /** The device a request came from has a configuration of its own: its MAC and that configuration. */
  find(address: string, device?: DeviceRef): { readonly mac: string; readonly config: C } | undefined {
    if (this.#byMac.size === 0) return undefined
    const mac = (device ?? this.#resolve(address))?.mac
    const config = mac === undefined ? undefined : this.#byMac.get(mac)
    return mac !== undefined && config !== undefined ? { mac, config } : undefined
  }

  /** The configuration in force for a request from `address`: the device's own, or `base`. */
  for(address: string, base: C): C {
    return this.find(address)?.config ?? base
  }
}
