import { createSocket, type RemoteInfo, type Socket, type SocketOptions } from 'node:dgram'
import { lookup } from 'node:dns'
import { isIPv4 } from 'node:net'
import { LabError } from '../errors.js'

export function bindError(
  server: string,
  transport: string,
  address: string,
  port: number,
  cause: unknown,
): LabError {
  const code = (cause as NodeJS.ErrnoException).code
  const reason =
    code === 'EADDRINUSE'
      ? `port ${port}/${transport} on ${address} is already in use`
      : code === 'EACCES'
        ? `port ${port}/${transport} needs root or CAP_NET_BIND_SERVICE`
        : code === 'EADDRNOTAVAIL'
          ? `address ${address} is not on this host`
          : `${(cause as Error).message}`
  const hint =
    code === 'EADDRINUSE'
      ? ' Stop what holds it, or run with --ports ephemeral.'
      : code === 'EACCES'
        ? ' Use loopback mode (unprivileged ports) or run as root.'
        : ''
  return new LabError('LAB_ERR_SERVER_BIND', `Failed to start ${server}: ${reason}.${hint}`, { cause })
}

/**
 * What a server's UDP socket may hold before the kernel drops datagrams: Linux's default (208 KiB) holds some
 * two hundred small datagrams — fewer than a floor of phones powering up at once after a power cut; 1 MiB
 * holds a thousand. (4 MiB bought nothing more and let dnsperf's 500 outstanding queries pile up: the lab's
 * peak RSS under it rose by 15–40 MB.) The kernel caps it at net.core.rmem_max.
 */
export const UDP_RECEIVE_BUFFER = 1024 * 1024

/**
 * How a lab socket finds where to send: the lab answers addresses (the peer's, a broadcast), which need no
 * lookup. Node's default, `dns.lookup`, hands even an address back on the next tick, so every datagram sent
 * cost a deferred callback (2.5% of the DNS server's CPU under dnsperf); an IPv4 address is now handed back
 * at once, and anything else still goes to `dns.lookup`.
 */
export const lookupAddress: NonNullable<SocketOptions['lookup']> = (hostname, options, callback) => {
  if (isIPv4(hostname)) callback(null, hostname, 4)
  else lookup(hostname, options, callback)
}

/**
 * Binds a UDP socket and resolves once it listens. Socket errors after the bind are logged by `onError`,
 * never thrown: a bad datagram must not take the lab down.
 */
export function bindUdp(
  server: string,
  address: string,
  port: number,
  onMessage: (msg: Buffer, rinfo: RemoteInfo) => void,
  onError: (err: Error) => void,
  /** Let another socket bind the same port on a specific address (the DHCP broadcast sender). */
  reuseAddr = false,
  /** Share the port with other sockets that ask the same (SO_REUSEPORT: UDP pump threads, udp-pumps.ts). */
  reusePort = false,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({
      type: 'udp4',
      reuseAddr,
      ...(reusePort ? { reusePort } : {}),
      recvBufferSize: UDP_RECEIVE_BUFFER,
      lookup: lookupAddress,
    })
    const failBind = (err: Error): void => {
      socket.close()
      reject(bindError(server, 'udp', address, port, err))
    }
    socket.once('error', failBind)
    socket.bind(port, address, () => {
      socket.off('error', failBind)
      socket.on('error', onError)
      socket.on('message', onMessage)
      resolve(socket)
    })
  })
}

export function closeUdp(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve())
    } catch {
      resolve()
    }
  })
}
