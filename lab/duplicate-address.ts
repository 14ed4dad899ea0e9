import { execFile } from 'node:child_process'
import { networkInterfaces } from 'node:os'

/**
 * Whether an address is free on a link before the lab takes it there: an RFC 5227 probe (ARP requests for
 * the address from 0.0.0.0, which any holder answers) sent with iputils' `arping -D`, and a look at the host's
 * own interface, which a probe sent through a macvlan of it never reaches. Two owners of the lab's address
 * send the phones' ARP, and so DNS and LDAP, to whichever answers first.
 */

export type AddressProbe =
  | { readonly kind: 'free' }
  | { readonly kind: 'taken'; readonly mac: string }
  | { readonly kind: 'unchecked'; readonly why: string }

/** The MAC in arping's reply line (`Unicast reply from 10.50.0.1 [02:42:0A:32:00:01]  0.61ms`). */
export function replyMac(output: string): string | undefined {
  return /reply from [\d.]+ \[([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\]/.exec(output)?.[1]?.toLowerCase()
}

/**
 * Probes `address` on `iface` (inside `netns` when given): two probes a second apart, as RFC 5227 §2.1.1's
 * PROBE_NUM with a short interval, so a lab start waits two seconds at most.
 */
export function probeAddress(iface: string, address: string, netns?: string): Promise<AddressProbe> {
  const argv = ['arping', '-D', '-c', '2', '-w', '3', '-I', iface, address]
  const [cmd, ...args] = netns !== undefined ? ['ip', 'netns', 'exec', netns, ...argv] : argv
  return new Promise((resolve) => {
    execFile(cmd!, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const mac = replyMac(stdout)
      if (mac !== undefined) return resolve({ kind: 'taken', mac })
      if (!err) return resolve({ kind: 'free' })
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT' || /arping.*No such file/i.test(stderr)
      resolve({
        kind: 'unchecked',
        why: missing
          ? 'arping is not installed (Debian package iputils-arping)'
          : `arping failed: ${(stderr || err.message).trim().split('\n')[0]}`,
      })
    })
  })
}

/** The host's own MAC on `iface` when the host itself holds `address` there. */
export function hostHolds(iface: string, address: string): { readonly mac: string } | undefined {
  const held = (networkInterfaces()[iface] ?? []).find((a) => a.family === 'IPv4' && a.address === address)
  return held ? { mac: held.mac } : undefined
}
