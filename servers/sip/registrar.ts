import type { FastifyInstance } from 'fastify'
import type { LabClock, LabTimer } from '../../core/clock.js'
import { eventWriter } from '../../core/journal/events.js'
import type { Journal, Peer } from '../../core/journal/journal.js'
import type { SipEvents } from './events.js'
import type { RegistrationChange, SipConnection } from './behaviour.js'

/** A registration as the admin API and the dashboard show it. */
export interface RegistrationView {
  readonly user: string
  readonly contact: string
  readonly peer: string
  /** Lab time (ISO) of the first REGISTER that made it, and of its end unless refreshed. */
  readonly since: string
  readonly until: string
  readonly refreshed: number
}

interface Entry {
  readonly user: string
  readonly contact: string
  readonly peer: Peer
  readonly since: number
  until: number
  refreshed: number
  timer: LabTimer
  readonly connection: SipConnection
}

/**
 * The pool's registrations, as OCS keeps them: one per connection (the phone's TLS connection is its only
 * path), each ending at its Expires in lab time unless refreshed. A registration that expires is removed and
 * journaled — the phone that stopped re-registering is gone, and its connection must authenticate afresh —
 * and one whose connection closes is removed with it. Kept per lab (it outlives a reload of the server).
 */
export class Registrar {
  readonly #entries = new Map<SipConnection, Entry>()

  constructor(readonly journal: Journal) {}

  /** Applies what a successful REGISTER asked; `clock` plans the expiry in lab time. */
  apply(conn: SipConnection, change: RegistrationChange, peer: Peer, clock: LabClock): void {
    const old = this.#entries.get(conn)
    old?.timer.cancel()
    if (change.expires === 0) {
      if (old) this.#remove(old, 'sip:unregistered', `${old.user} unregistered (REGISTER Expires 0)`)
      return
    }
    const now = clock.now()
    const until = now + change.expires * 1000
    const entry: Entry = old
      ? Object.assign(old, { until, refreshed: old.refreshed + 1 })
      : {
          user: change.user,
          contact: change.contact,
          peer,
          since: now,
          until,
          refreshed: 0,
          connection: conn,
          timer: { cancel: () => undefined },
        }
    entry.timer = clock.at(until, () => this.#expire(entry, change.expires))
    this.#entries.set(conn, entry)
  }

  /** The connection closed: its registration goes with it. */
  closed(conn: SipConnection): void {
    const entry = this.#entries.get(conn)
    if (!entry) return
    entry.timer.cancel()
    this.#remove(entry, 'sip:unregistered', `${entry.user} unregistered: the connection closed`)
  }

  #expire(entry: Entry, expires: number): void {
    if (this.#entries.get(entry.connection) !== entry) return
    delete entry.connection.user
    delete entry.connection.contact
    this.#remove(
      entry,
      'sip:registration-expired',
      `${entry.user} registration expired: no re-REGISTER within its ${expires} s`,
    )
  }

  #remove(entry: Entry, kind: 'sip:registration-expired' | 'sip:unregistered', summary: string): void {
    this.#entries.delete(entry.connection)
    eventWriter<SipEvents>(this.journal, 'sip')(kind, {
      summary,
      detail: {
        user: entry.user,
        contact: entry.contact,
        since: new Date(entry.since).toISOString(),
        refreshed: entry.refreshed,
      },
      peer: entry.peer,
      device: { user: entry.user },
    })
  }

  list(): RegistrationView[] {
    return [...this.#entries.values()].map((e) => ({
      user: e.user,
      contact: e.contact,
      peer: `${e.peer.address}:${e.peer.port}`,
      since: new Date(e.since).toISOString(),
      until: new Date(e.until).toISOString(),
      refreshed: e.refreshed,
    }))
  }
}

export function sipRoutes(app: FastifyInstance, registrar: Registrar): void {
  app.get('/sip/registrations', async () => ({ registrations: registrar.list() }))
}
