import { randomBytes } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { isIP, isIPv4, isIPv6 } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { bindError } from '../../core/net/udp.js'
import type { Lab } from '../runtime.js'
import type { TrainingSession } from '../training/session.js'
import { adminApp } from './app.js'

export interface AdminOptions {
  readonly host: string
  readonly port: number
  /** Listen on this unix socket instead of host:port (interface mode: the host proxies to it). */
  readonly path?: string
  /**
   * The bearer token every admin route requires: required always when given (a unix socket that a host proxy
   * offers beyond loopback, or an operator who asked for one), and made here when host is not loopback.
   */
  readonly token?: string
  /** A training session (cx700-lab train PACK): the trainer's /training routes and the trainees' pages. */
  readonly training?: TrainingSession
}

export interface AdminServer extends AsyncDisposable {
  readonly url: string
  /** The bearer token, when one is required. */
  readonly token: string | undefined
  readonly app: FastifyInstance
  close(): Promise<void>
}

/** A loopback address: 127.0.0.0/8, ::1, or an IPv4-mapped 127.x. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.replace(/^::ffff:/i, '')
  if (isIPv4(v4)) return v4.startsWith('127.')
  return isIPv6(address) && /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(address)
}

/**
 * Whether a host the admin API is asked to listen on is loopback, decided on addresses, never on the name:
 * a name counts only when every address it resolves to is loopback (127.evil.test is not).
 */
export async function isLoopbackHost(host: string): Promise<boolean> {
  if (isIP(host)) return isLoopbackAddress(host)
  try {
    const addresses = await lookup(host, { all: true })
    return addresses.length > 0 && addresses.every((a) => isLoopbackAddress(a.address))
  } catch {
    return false
  }
}

/**
 * The token a page or API listening on `host` asks for: the one given, else one made here off loopback, else
 * none. `host` undefined is a unix socket (its file's permissions are the gate).
 */
export async function bearerToken(
  host: string | undefined,
  given: string | undefined,
): Promise<string | undefined> {
  const needsToken = given !== undefined || (host !== undefined && !(await isLoopbackHost(host)))
  return needsToken ? (given ?? randomBytes(18).toString('base64url')) : undefined
}

/**
 * Starts a page-and-API app on `host`:`port` (or a unix socket at `path`): its URL and what closes it. A bind
 * that fails closes the app and says which service could not listen where.
 */
export async function listenApp(
  app: FastifyInstance,
  what: string,
  at: { readonly host: string; readonly port: number; readonly path?: string | undefined },
): Promise<{ url: string; close: () => Promise<void> }> {
  try {
    await app.listen(at.path !== undefined ? { path: at.path } : { host: at.host, port: at.port })
  } catch (cause) {
    await app.close()
    throw bindError(what, 'tcp', at.host, at.port, cause)
  }
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr ? addr.port : at.port
  const host = at.host.includes(':') ? `[${at.host}]` : at.host
  const close = async (): Promise<void> => {
    await app.close()
  }
  return { url: at.path !== undefined ? `unix:${at.path}` : `http://${host}:${port}`, close }
}

/**
 * The admin API, listening: one control plane for every protocol (lab/admin/app.ts). Loopback by default; on
 * any other address every admin route needs `Authorization: Bearer <token>` (given, or made here).
 */
export async function startAdmin(lab: Lab, options: AdminOptions): Promise<AdminServer> {
  const token = await bearerToken(options.path === undefined ? options.host : undefined, options.token)
  const names = isIP(options.host) === 0 ? [options.host] : []
  const app = await adminApp(lab, { token, training: options.training, names })
  const { url, close } = await listenApp(app, 'the admin API', options)
  return { url, token, app, close, [Symbol.asyncDispose]: close }
}
