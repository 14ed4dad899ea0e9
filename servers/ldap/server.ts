import { ReplayCache } from '../../core/auth/krb5/acceptor.js'
import { saslBind, type SaslState } from './sasl.js'
import { describeLogon } from '../../core/auth/logon.js'
import type { Socket } from 'node:net'
import { DeviceConfigs } from '../../core/device-configs.js'
import { LabDecodeError } from '../../core/errors.js'
import { NO_FAULT, waitFor, type FaultPlan } from '../../core/faults/apply.js'
import type { DeviceRef } from '../../core/journal/devices.js'
import type { Peer } from '../../core/journal/journal.js'
import { closeTcp, messageDeadline, type TcpListener } from '../../core/net/tcp.js'
import type { BoundPort, ListenRequest } from '../../core/server.js'
import type { ServerDeps } from '../contract.js'
import type { ConnectionTap } from '../../core/capture/store.js'
import { ServerBase } from '../../core/server-base.js'
import { AD_MESSAGES, PagedResults, bind, search, type FoundEntry, type SearchOutcome } from './behaviour.js'
import {
  LdapOp,
  LdapResult,
  PAGED_RESULTS_OID,
  RESPONSE_TAG,
  decodeLdapMessage,
  decodePagedResults,
  encodeNoticeOfDisconnection,
  encodePagedResults,
  encodeBindResponse,
  encodeResult,
  encodeSearchAnswer,
  filterText,
  peekMessageId,
  resultName,
  takeLdapFrames,
  type LdapMessage,
  type LdapOperation,
} from './codec.js'
import type { Account, Directory } from './directory.js'
import { directoryOf, type LdapSlice } from './slice.js'
import type { LdapEvents, LdapSearchDetail } from './events.js'

export type { LdapSlice } from './slice.js'

interface Session {
  account?: Account
  /** A SASL GSSAPI exchange under way on this connection (RFC 4752 takes three binds). */
  sasl?: SaslState
  readonly paged: PagedResults
  readonly abandoned: Set<number>
  /** This connection's capture: a simple bind's password is concealed in it. */
  readonly tap: ConnectionTap | undefined
  /** The peer's address: a device with a directory of its own (a trainee's exercise) is served from it. */
  readonly address: string
}

/** A directory and the configuration it was built from. */
interface View {
  readonly config: LdapSlice
  readonly directory: Directory
}

/** How one answer is sent: its octets, and what becomes of the connection after it. */
interface Delivery {
  readonly bytes: Buffer[]
  readonly summary: string
  /** What the journal learns of the device (the user, after a bind). */
  readonly device?: DeviceRef
  readonly close?: 'unbind' | 'reset' | 'protocol'
  /** No answer at all (an unbind, an abandon, a `drop` fault). */
  readonly silent?: boolean
  /** The fault applied to the request, added to the event's detail. */
  readonly fault?: string
}

/** One answer with the journal event that tells of it: a kind of the LDAP map and that kind's detail. */
type Reply = {
  [K in keyof LdapEvents]: Delivery & { readonly kind: K; readonly detail: LdapEvents[K] }
}[keyof LdapEvents]

type AnswerSet = Readonly<Record<string, string | number | boolean>> | undefined

/** The event kind of an operation's answer when a fault takes the directory's place. */
const FAULTED_KIND = {
  bind: 'ldap:bind',
  'sasl-bind': 'ldap:bind',
  search: 'ldap:search',
  extended: 'ldap:extended',
  other: 'ldap:write',
} as const

const IDLE_MS = 15 * 60_000

/**
 * The Active Directory double: LDAPv3 on 389 (and 3268 as a global catalog), one session per connection,
 * requests answered in order, every bind and search journaled with the device and what was found.
 */
export class LdapServer extends ServerBase<LdapSlice, ServerDeps, LdapEvents> {
  readonly name = 'ldap'
  #config: LdapSlice
  #directory!: Directory
  readonly #devices = new DeviceConfigs<View>((address) =>
    this.deps.journal.devices.resolve(undefined, address),
  )
  /** Kerberos authenticators this DC has seen in SASL binds (RFC 4120 §3.2.3). */
  readonly #replay = new ReplayCache()
  readonly #listen: readonly ListenRequest[]
  #listeners: TcpListener[] = []

  constructor(config: LdapSlice, listen: readonly ListenRequest[], deps: ServerDeps) {
    super(deps)
    this.#config = config
    this.#listen = listen
    this.#build()
  }

  configure(config: LdapSlice): void {
    this.#config = config
    this.#build()
  }

  /** Gives one device a directory of its own (a trainee's exercise), or takes it back. */
  configureDevice(mac: string, config: LdapSlice | undefined): void {
    this.#devices.set(mac, config && { config, directory: this.#directoryOf(config) })
  }

  /** The directory and configuration a connection is served from. */
  #view(session: Session): View {
    return this.#devices.for(session.address, { config: this.#config, directory: this.#directory })
  }

  #build(): void {
    this.#directory = this.#directoryOf(this.#config)
    for (const [mac, v] of [...this.#devices.entries()]) this.configureDevice(mac, v.config)
  }

  #directoryOf(config: LdapSlice): Directory {
    return directoryOf(config, this.deps.pki())
  }

  protected async bind(): Promise<readonly BoundPort[]> {
    const bound: BoundPort[] = []
    for (const req of this.#listen) {
      if (req.name === 'ldap-gc' && !this.#config.block.globalCatalog) continue
      const listener = await this.listenTcp(req.address, req.port, (s) =>
        this.#onConnection(s, req.name === 'ldap-gc'),
      )
      this.#listeners.push(listener)
      const addr = listener.server.address()
      bound.push({ ...req, server: 'ldap', port: typeof addr === 'object' && addr ? addr.port : req.port })
    }
    return bound
  }

  protected async unbind(): Promise<void> {
    const listeners = this.#listeners
    this.#listeners = []
    await Promise.all(listeners.map((l) => closeTcp(l)))
  }

  #onConnection(socket: Socket, gc: boolean): void {
    const peer: Peer = {
      address: socket.remoteAddress ?? '?',
      port: socket.remotePort ?? 0,
      transport: 'tcp',
    }
    const session: Session = {
      paged: new PagedResults(),
      abandoned: new Set(),
      tap: this.tapOf(socket),
      address: peer.address,
    }
    let buffered = Buffer.alloc(0)
    let chain: Promise<void> = Promise.resolve()
    socket.setTimeout(IDLE_MS, () => socket.destroy())
    const ms = this.#config.block.messageTimeoutMs
    const deadline = messageDeadline(socket, ms, () => this.messageTimedOut(socket, peer, ms))
    socket.on('data', (data: Buffer) => {
      let frames: Buffer[]
      try {
        const taken = takeLdapFrames(buffered.length === 0 ? data : Buffer.concat([buffered, data]))
        frames = taken.frames
        buffered = Buffer.from(taken.rest)
        deadline(buffered.length > 0)
      } catch (err) {
        if (!(err instanceof LabDecodeError)) throw err
        // The stream cannot be resynchronised: RFC 4511 §4.4.1 notice, then close.
        socket.removeAllListeners('data')
        const reply: Reply = {
          bytes: [encodeNoticeOfDisconnection(LdapResult.protocolError, err.message)],
          kind: 'ldap:malformed',
          summary: `malformed stream → protocolError, disconnected: ${err.message}`,
          detail: { error: err.message, gc },
          close: 'protocol',
        }
        chain = chain.then(() => this.#deliver(socket, peer, reply))
        this.track(chain, peer)
        return
      }
      for (const frame of frames) {
        chain = chain.then(async () => {
          if (socket.destroyed || !this.listening) return
          const reply = await this.#handle(frame, session, peer, gc)
          this.#deliver(socket, peer, reply)
        })
        // One failed answer is journaled and the next request on the connection is still answered.
        chain = chain.catch((err: unknown) => this.failed(err, peer))
        this.track(chain, peer)
      }
    })
  }

  /** Journals the reply, then (group commit: after its line is written) sends it in one write. */
  #deliver(socket: Socket, peer: Peer, reply: Reply): void {
    if (socket.destroyed) return
    const detail = reply.fault === undefined ? reply.detail : { ...reply.detail, fault: reply.fault }
    const event = { summary: reply.summary, detail, peer, ...(reply.device ? { device: reply.device } : {}) }
    this.recordThen(reply.kind, event, () => {
      if (socket.destroyed) return
      if (reply.close === 'reset') {
        socket.resetAndDestroy()
        return
      }
      if (!reply.silent && reply.bytes.length > 0)
        socket.write(reply.bytes.length === 1 ? reply.bytes[0]! : Buffer.concat(reply.bytes))
      if (reply.close === 'unbind') socket.destroy()
      else if (reply.close === 'protocol') socket.end()
    })
  }

  async #handle(frame: Buffer, session: Session, peer: Peer, gc: boolean): Promise<Reply> {
    let msg: LdapMessage
    try {
      msg = decodeLdapMessage(frame)
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      // RFC 4511 §4.1.1: a message whose structure is wrong ends the session, with a notice first.
      const id = peekMessageId(frame)
      return {
        bytes: [encodeNoticeOfDisconnection(LdapResult.protocolError, err.message)],
        kind: 'ldap:malformed',
        summary: `malformed message${id !== undefined ? ` #${id}` : ''} → protocolError, disconnected: ${err.message}`,
        detail: { error: err.message, bytes: frame.length, gc, ...(id !== undefined ? { id } : {}) },
        close: 'protocol',
      }
    }
    const op = msg.op
    const device = session.account ? { user: session.account.user.signInAddress } : undefined
    const fields = this.#fields(op)
    const faults = this.deps.faults
    const applied = faults.idle
      ? undefined
      : faults.decide({ server: 'ldap', peer, ...(device ? { device } : {}), fields })
    const plan = this.plan(applied?.fault, 'tcp')
    if (plan.hook === 'behaviour' && plan.delayMs > 0) {
      await waitFor(plan.delayMs)
      if (session.abandoned.has(msg.id)) {
        return {
          bytes: [],
          silent: true,
          kind: 'ldap:abandoned',
          summary: `request #${msg.id} abandoned while delayed`,
          detail: { id: msg.id },
        }
      }
    }
    const reply = this.#answer(msg, session, gc, plan)
    return applied ? { ...reply, fault: applied.fault.kind } : reply
  }

  #fields(op: LdapOperation): Record<string, string> {
    switch (op.kind) {
      case 'bind':
      case 'sasl-bind':
        return { op: 'bind', name: op.name }
      case 'search':
        return { op: 'search', base: op.base, scope: op.scope, filter: filterText(op.filter) }
      case 'unbind':
      case 'abandon':
      case 'extended':
        return { op: op.kind }
      case 'other':
        return { op: `0x${op.tag.toString(16)}` }
    }
  }

  /** The answer to one decoded request, with the fault's plan (its delay already waited) applied. */
  #answer(msg: LdapMessage, session: Session, gc: boolean, plan: FaultPlan): Reply {
    const faulted = faultedAnswer(msg, gc, plan)
    if (faulted) return faulted
    const behaviour = plan.hook === 'behaviour' ? plan : NO_FAULT
    const protocol = behaviour.protocol
    const reply = this.#real(msg, session, gc, protocol?.kind === 'answer' ? protocol.set : undefined)
    if (!behaviour.altersBytes) return reply
    const bytes = Buffer.from(behaviour.onEncoded(Buffer.concat(reply.bytes)))
    return { ...reply, bytes: [bytes], summary: `${reply.summary} (fault ${behaviour.fault?.kind ?? ''})` }
  }

  #real(msg: LdapMessage, session: Session, gc: boolean, set: AnswerSet): Reply {
    const { id, op } = msg
    switch (op.kind) {
      case 'bind':
        return this.#simpleBind(id, op, session, gc)
      case 'sasl-bind':
        return this.#saslBind(id, op, session, gc)
      case 'search':
        return this.#search(msg, op, session, gc, set)
      case 'abandon':
        session.abandoned.add(op.id)
        return answerWithout(id, op)
      case 'unbind':
      case 'extended':
      case 'other':
        return answerWithout(id, op)
    }
  }

  #simpleBind(
    id: number,
    op: Extract<LdapOperation, { kind: 'bind' }>,
    session: Session,
    gc: boolean,
  ): Reply {
    // A password crosses a simple bind in clear: never in a capture the lab serves.
    session.tap?.conceal(op.password)
    const outcome = bind(this.#view(session).directory, op.name, op.password.toString('utf8'))
    if (outcome.account) session.account = outcome.account
    else if (outcome.code === LdapResult.success) delete session.account
    const user = outcome.account?.user.signInAddress
    const who = user ? ` as ${user}` : outcome.logon ? `: ${describeLogon(outcome.logon)}` : ''
    return {
      bytes: [encodeResult(id, LdapOp.bindResponse, outcome.code, outcome.message)],
      kind: 'ldap:bind',
      summary: `#${id} simple bind ${op.name === '' ? '(anonymous)' : op.name} [${outcome.form}] → ${resultName(outcome.code)}${who}`,
      detail: {
        id,
        name: op.name,
        form: outcome.form,
        method: 'simple',
        version: op.version,
        result: resultName(outcome.code),
        gc,
        ...(outcome.logon ? { logon: outcome.logon.status } : {}),
        ...(user ? { user } : {}),
      },
      ...(user ? { device: { user } } : {}),
    }
  }

  #saslBind(
    id: number,
    op: Extract<LdapOperation, { kind: 'sasl-bind' }>,
    session: Session,
    gc: boolean,
  ): Reply {
    const { config, directory } = this.#view(session)
    const dc = config.hosts.find((h) => h.roles.includes('dc'))?.name ?? config.site.adDomain
    const outcome = saslBind(op.mechanism, op.credentials, session.sasl, {
      domain: config.site.netbiosName,
      realm: this.deps.kerberos(),
      host: dc,
      nowMs: Math.floor(this.deps.clock.now()),
      replay: this.#replay,
      directory,
    })
    if (outcome.next) session.sasl = outcome.next
    else delete session.sasl
    if (outcome.account) session.account = outcome.account
    else if (!outcome.next) delete session.account
    const user = outcome.account?.user.signInAddress
    return {
      bytes: [encodeBindResponse(id, outcome.code, outcome.message, outcome.creds)],
      kind: 'ldap:bind',
      summary: `#${id} SASL bind ${op.mechanism} → ${resultName(outcome.code)}: ${outcome.why}`,
      detail: {
        id,
        name: op.name,
        method: 'sasl',
        mechanism: op.mechanism,
        credentialBytes: op.credentials?.length ?? 0,
        result: resultName(outcome.code),
        gc,
        ...(user ? { user } : {}),
      },
      ...(user ? { device: { user } } : {}),
    }
  }

  #search(
    msg: LdapMessage,
    op: Extract<LdapOperation, { kind: 'search' }>,
    session: Session,
    gc: boolean,
    set: AnswerSet,
  ): Reply {
    const { id } = msg
    const filter = filterText(op.filter)
    const asked = { id, base: op.base, scope: op.scope, filter, attributes: op.attributes, gc }
    const head = `#${id} search "${op.base}" ${op.scope} ${filter}${op.attributes.length > 0 ? ` [${op.attributes.join(', ')}]` : ''}`
    const { config, directory } = this.#view(session)
    const { anonymous } = config.block
    const rootDse = op.base === '' && op.scope === 'base'
    if (!session.account && (anonymous === 'refuse' || (anonymous === 'rootdse' && !rootDse)))
      return searchRefused(id, head, asked, LdapResult.operationsError, AD_MESSAGES.bindFirst, 'bind first')
    const run = (): SearchOutcome =>
      alteredSearch(
        search(directory, op, new Date(this.deps.clock.now()), {
          gc,
          referralHost: config.site.adDomain,
        }),
        set,
      )
    const paging = msg.controls.find((c) => c.oid === PAGED_RESULTS_OID)
    if (!paging) return searchAnswer(id, head, asked, run(), [], false)
    let request: { size: number; cookie: Buffer }
    try {
      request = decodePagedResults(paging.value)
    } catch (err) {
      const why = (err as Error).message
      return searchRefused(id, head, asked, LdapResult.protocolError, why, 'bad paged-results control')
    }
    const { outcome, controls } = pagedSearch(session.paged, request, config.block.maxPageSize, run)
    return searchAnswer(id, head, asked, outcome, controls, true)
  }
}

/** The answer a fault gives in place of the directory's: none, a reset, random bytes or an error code. */
function faultedAnswer(msg: LdapMessage, gc: boolean, plan: FaultPlan): Reply | undefined {
  const { id, op } = msg
  if (op.kind === 'unbind' || op.kind === 'abandon') return undefined
  const kind = FAULTED_KIND[op.kind]
  const detail = { id, gc, op: op.kind }
  if (plan.hook === 'silence')
    return {
      bytes: [],
      silent: true,
      kind,
      summary: `#${id} ${op.kind} → no answer (fault ${plan.kind})`,
      detail,
    }
  if (plan.hook === 'connection' && plan.kind === 'reset')
    return {
      bytes: [],
      kind,
      summary: `#${id} ${op.kind} → connection reset (fault)`,
      detail,
      close: 'reset',
    }
  if (plan.hook === 'connection' && plan.kind === 'garbage')
    return {
      bytes: [Buffer.from(plan.bytes)],
      kind,
      summary: `#${id} ${op.kind} → random bytes (fault)`,
      detail,
    }
  if (plan.hook !== 'behaviour' || plan.protocol?.kind !== 'error') return undefined
  const code = plan.protocol.code
  const result = (LdapResult as Record<string, number>)[code] ?? LdapResult.busy
  return {
    bytes: [encodeResult(id, responseTag(op), result, `the lab answers ${code} (fault)`)],
    kind,
    summary: `#${id} ${op.kind} → ${code} (fault)`,
    detail: { ...detail, result: code },
  }
}

function responseTag(op: Exclude<LdapOperation, { kind: 'unbind' | 'abandon' }>): number {
  switch (op.kind) {
    case 'bind':
    case 'sasl-bind':
      return LdapOp.bindResponse
    case 'search':
      return LdapOp.searchResultDone
    case 'extended':
      return LdapOp.extendedResponse
    case 'other':
      return RESPONSE_TAG.get(op.tag)!
  }
}

/** The answer to an operation the directory does not carry out: unbind, abandon, extended, a write. */
function answerWithout(
  id: number,
  op: Exclude<LdapOperation, { kind: 'bind' | 'sasl-bind' | 'search' }>,
): Reply {
  switch (op.kind) {
    case 'unbind':
      return {
        bytes: [],
        silent: true,
        kind: 'ldap:unbind',
        summary: `#${id} unbind`,
        detail: { id },
        close: 'unbind',
      }
    case 'abandon':
      return {
        bytes: [],
        silent: true,
        kind: 'ldap:abandon',
        summary: `#${id} abandon #${op.id}`,
        detail: { id, abandoned: op.id },
      }
    case 'extended': {
      const why = `extended operation ${op.oid} is not supported by the lab`
      return {
        bytes: [encodeResult(id, LdapOp.extendedResponse, LdapResult.protocolError, why)],
        kind: 'ldap:extended',
        summary: `#${id} extended ${op.oid} → protocolError`,
        detail: { id, oid: op.oid, result: 'protocolError' },
      }
    }
    case 'other': {
      const tag = RESPONSE_TAG.get(op.tag)!
      return {
        bytes: [encodeResult(id, tag, LdapResult.unwillingToPerform, 'the lab directory is read-only')],
        kind: 'ldap:write',
        summary: `#${id} operation 0x${op.tag.toString(16)} → unwillingToPerform (read-only)`,
        detail: { id, tag: op.tag, result: 'unwillingToPerform' },
      }
    }
  }
}

/** What a search asked, as its event tells it. */
type SearchAsked = Omit<LdapSearchDetail, 'result' | 'entries'>

/** A search refused before the directory is read (bind first; a paged-results control that does not decode). */
function searchRefused(
  id: number,
  head: string,
  asked: SearchAsked,
  code: number,
  message: string,
  why: string,
): Reply {
  return {
    bytes: [encodeResult(id, LdapOp.searchResultDone, code, message)],
    kind: 'ldap:search',
    summary: `${head} → ${resultName(code)} (${why})`,
    detail: { ...asked, result: resultName(code), entries: [] },
  }
}

/** The `answer: {set: …}` fault on a search: no entries, or the CA certificates absent or empty. */
function alteredSearch(out: SearchOutcome, set: AnswerSet): SearchOutcome {
  if (!set) return out
  if (set.entries === 'none') return { ...out, entries: [] }
  if (set.cACertificate === undefined) return out
  const entries: FoundEntry[] = out.entries.map((e) => ({
    dn: e.dn,
    attributes: e.attributes.flatMap((a) =>
      !a.type.toLowerCase().startsWith('cacertificate')
        ? [a]
        : set.cACertificate === 'absent'
          ? []
          : [{ type: a.type, values: [Buffer.alloc(0)] }],
    ),
  }))
  return { ...out, entries }
}

type DoneControl = { oid: string; critical: boolean; value: Buffer }

/** One page of a paged search (RFC 2696): the first request runs the search, the cookie walks its results. */
function pagedSearch(
  paged: PagedResults,
  request: { size: number; cookie: Buffer },
  maxPageSize: number,
  run: () => SearchOutcome,
): { outcome: SearchOutcome; controls: DoneControl[] } {
  let first: SearchOutcome | undefined
  const page = paged.page(request.cookie, Math.min(request.size, maxPageSize), () => {
    first = run()
    return first.entries
  })
  if (!page)
    return {
      outcome: { code: LdapResult.unwillingToPerform, message: 'unknown paged-results cookie', entries: [] },
      controls: [],
    }
  const outcome: SearchOutcome = {
    code: first?.code === LdapResult.noSuchObject ? first.code : LdapResult.success,
    message: first?.message ?? '',
    ...(first?.matchedDn !== undefined ? { matchedDn: first.matchedDn } : {}),
    entries: page.entries,
  }
  return {
    outcome,
    controls: [{ oid: PAGED_RESULTS_OID, critical: false, value: encodePagedResults(0, page.cookie) }],
  }
}

function searchAnswer(
  id: number,
  head: string,
  asked: SearchAsked,
  outcome: SearchOutcome,
  controls: DoneControl[],
  paged: boolean,
): Reply {
  const dns = outcome.entries.map((e) => e.dn)
  const n = dns.length
  const some = n > 0 && n <= 3 ? `: ${dns.map((d) => d || '(RootDSE)').join('; ')}` : ''
  return {
    bytes: [encodeSearchAnswer(id, outcome.entries, { ...outcome, controls })],
    kind: 'ldap:search',
    summary: `${head} → ${resultName(outcome.code)}, ${n} entr${n === 1 ? 'y' : 'ies'}${some}`,
    detail: {
      ...asked,
      result: resultName(outcome.code),
      entries: dns,
      ...(outcome.references ? { references: outcome.references } : {}),
      ...(paged ? { paged: true } : {}),
    },
  }
}
