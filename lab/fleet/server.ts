import { isIP } from 'node:net'
import Fastify from 'fastify'
import { adminGuard } from '../admin/guard.js'
import { labValidation } from '../admin/http.js'
import { requestChecks } from '../admin/origin.js'
import { assetRoutes } from '../admin/routes/pages.js'
import { bearerToken, listenApp } from '../admin/server.js'
import type { Fleet } from './file.js'
import { fleetPage } from './page.js'
import { readFleet } from './status.js'

export interface FleetViewOptions {
  readonly host: string
  readonly port: number
  /** The view's own token (never a lab's); made here when the view listens off loopback. */
  readonly token?: string | undefined
}

export interface FleetView extends AsyncDisposable {
  readonly url: string
  readonly token: string | undefined
  close(): Promise<void>
}

/**
 * The fleet view, listening: the page (no data), its script, and `GET /fleet` — every lab read through its
 * admin API with the token the fleet file names. The labs' tokens never leave this process; the view asks
 * for its own off loopback, and takes only its own Host names and no other origin, as the admin API does.
 */
export async function startFleetView(fleet: Fleet, options: FleetViewOptions): Promise<FleetView> {
  const token = await bearerToken(options.host, options.token)
  const app = Fastify({ logger: false, forceCloseConnections: true })
  app.addHook('onRequest', requestChecks(isIP(options.host) === 0 ? [options.host] : []))
  labValidation(app)
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(fleetPage(fleet.title)))
  app.get('/health', async () => ({ ok: true, labs: fleet.labs.length }))
  await app.register(assetRoutes)
  await app.register(async (gated) => {
    gated.addHook('onRequest', adminGuard(token))
    gated.get('/fleet', async () => ({ title: fleet.title, labs: await readFleet(fleet) }))
  })
  const { url, close } = await listenApp(app, 'the fleet view', options)
  return { url, token, close, [Symbol.asyncDispose]: close }
}
