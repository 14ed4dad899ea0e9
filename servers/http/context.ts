import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AppliedFault } from '../../core/faults/engine.js'
import type { FaultPlan } from '../../core/faults/apply.js'
import type { Host, Site, User } from '../../core/site.js'
import type { ServerDeps } from '../contract.js'
import type { HttpConfig } from './schema.js'
import type { Mailbox } from './mailbox.js'
import type { XmlElement } from '../../core/xml.js'
import type { AddressBook } from './abs.js'
import type { Area } from './events.js'

/** What the HTTP server gets of a scenario. */
export interface HttpSlice {
  readonly block: HttpConfig
  readonly site: Site
  readonly hosts: readonly Host[]
  readonly users: readonly User[]
}

/** What the lab learns about one request on its way, for faults and the journal. */
export interface RequestState {
  user?: string
  scheme?: string
  auth?: string
  fault?: AppliedFault
  /** Where that fault takes effect (core/faults/apply.ts). */
  plan?: FaultPlan
  /** The IIS site the request went to. */
  area?: Area
  /** The operation: the EWS or SOAP operation, Autodiscover, or the certsrv page. */
  operation?: string
  folder?: string
  items?: number
  /** An EWS response code or an Autodiscover error. */
  code?: string
  /** The address an Autodiscover request asked about. */
  address?: string
  /** The firmware a phone said it runs, to the Device Update Service. */
  firmware?: string
  /** An Exchange request's body, parsed once (absent when it is not well-formed). */
  xml?: XmlElement
}

const states = new WeakMap<FastifyRequest, RequestState>()

export function stateOf(req: FastifyRequest): RequestState {
  let s = states.get(req)
  if (!s) {
    s = {}
    states.set(req, s)
  }
  return s
}

/** The fault's `answer` fields for this request, or none. */
export function answerOf(req: FastifyRequest): Readonly<Record<string, unknown>> {
  const plan = states.get(req)?.plan
  return plan?.hook === 'behaviour' && plan.protocol?.kind === 'answer' ? plan.protocol.set : {}
}

/** What the route plugins (certsrv, Exchange) get from the server. */
export interface HttpContext {
  readonly deps: ServerDeps
  /** The configuration a request is served from: its device's own (a trainee's exercise), or the lab's. */
  config(req: FastifyRequest): HttpSlice
  /** The port the HTTPS listener got (for the URLs the lab hands out). */
  httpsPort(): number
  /** The port the HTTP listener got. */
  httpPort(): number
  /** The mailbox of a scenario user, kept while the lab runs. */
  mailbox(user: User): Mailbox
  /** The pool's Address Book Server (its files outlive a reload). */
  readonly addressBook: AddressBook
  /** Journals a request answered outside fastify's reply cycle (a hijacked reply). */
  journal(req: FastifyRequest, status: number): void
  /** Answers the request with an IIS-style 404. */
  notFound(reply: FastifyReply): FastifyReply
}
