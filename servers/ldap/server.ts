import { ReplayCache } from '../../core/auth/krb5/acceptor.js'
import { saslBind, type SaslState } from './sasl.js'
import { describeLogon } from '../../core/auth/logon.js'
import type { Socket } from 'node:net'
import { certificateDer } from '../../certs/export.js'
import { LabDecodeError } from '../../core/errors.js'
import { NO_FAULT, waitFor, type FaultPlan } from '../../core/faults/apply.js'
import type { DeviceRef } from '../../core/journal/devices.js'
import type { Peer } from '../../core/journal/journal.js'
import { closeTcp, messageDeadline, type TcpListener } from '../../core/net/tcp.js'
import type { Host, Site, User } from '../../core/site.js'
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
import { buildDirectory, type Account, type Directory } from './directory.js'
import type { LdapConfig } from './schema.js'

/** What the LDAP server gets of a scenario. */
export interface LdapSlice {
  readonly block: LdapConfig
  readonly site: Site
  readonly hosts: readonly Host[]
  readonly users: readonly User[]
}

interface Session {
  account?: Account
  /** A SASL GSSAPI exchange under way on this connection (RFC 4752 takes three binds). */
  sasl?: SaslState
  readonly paged: PagedResults
  readonly abandoned: Set<number>
  /** This connection's capture: a simple bind's password is concealed in it. */
  readonly tap: ConnectionTap | undefined
}

interface Reply {
  readonly bytes: Buffer[]
  readonly kind: string
  readonly summary: string
  readonly detail: Record<string, unknown>
  /** What the journal learns of the device (the user, after a bind). */
  readonly device?: DeviceRef
  readonly close?: 'unbind' | 'reset' | 'protocol'
  /** No answer at all (an unbind, an abandon, a `drop` fault). */
  readonly silent?: boolean
}

const IDLE_MS = 15 * 60_000

/**
 * The Active Directory double: LDAPv3 on 389 (and 3268 as a global catalog), one session per connection,
 * requests answered in order, every bind and search journaled with the device and what was found.
 */
export class LdapServer extends ServerBase<LdapSlice, ServerDeps> {
  readonly name = 'ldap'
  #config: LdapSlice
  #directory!: Directory
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

  #build(): void {
    const pki = this.deps.pki()
    const root = Buffer.from(certificateDer(pki.root.certificate))
    const issuing = pki.intermediate ? Buffer.from(certificateDer(pki.intermediate.certificate)) : root
    const { block, site, hosts, users } = this.#config
    this.#directory = buildDirectory({
      site,
      hosts,
      users,
      pki: { root, issuing, caObjects: block.caObjects, enrollmentService: block.enrollmentService },
    })
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
    const session: Session = { paged: new PagedResults(), abandoned: new Set(), tap: this.tapOf(socket) }
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
    const event = {
      server: 'ldap',
      kind: reply.kind,
      summary: reply.summary,
      detail: reply.detail,
      peer,
      ...(reply.device ? { device: reply.device } : {}),
    }
    this.deps.journal.recordThen(event, () => {
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
    return applied ? { ...reply, detail: { ...reply.detail, fault: applied.fault.kind } } : reply
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
    const { id, op } = msg
    const responseTag =
      op.kind === 'bind' || op.kind === 'sasl-bind'
        ? LdapOp.bindResponse
        : op.kind === 'search'
          ? LdapOp.searchResultDone
          : op.kind === 'extended'
            ? LdapOp.extendedResponse
            : op.kind === 'other'
              ? RESPONSE_TAG.get(op.tag)
              : undefined
    const base = { id, gc, op: op.kind }
    const kind = `ldap:${op.kind}`
    // A request with no response (unbind, abandon) has nothing to drop, reset or answer wrongly.
    if (responseTag !== undefined) {
      if (plan.hook === 'silence')
        return {
          bytes: [],
          silent: true,
          kind,
          summary: `#${id} ${op.kind} → no answer (fault ${plan.kind})`,
          detail: base,
        }
      if (plan.hook === 'connection' && plan.kind === 'reset')
        return {
          bytes: [],
          kind,
          summary: `#${id} ${op.kind} → connection reset (fault)`,
          detail: base,
          close: 'reset',
        }
      if (plan.hook === 'connection' && plan.kind === 'garbage')
        return {
          bytes: [Buffer.from(plan.bytes)],
          kind,
          summary: `#${id} ${op.kind} → random bytes (fault)`,
          detail: base,
        }
      if (plan.hook === 'behaviour' && plan.protocol?.kind === 'error') {
        const code = plan.protocol.code
        const result = (LdapResult as Record<string, number>)[code] ?? LdapResult.busy
        return {
          bytes: [encodeResult(id, responseTag, result, `the lab answers ${code} (fault)`)],
          kind,
          summary: `#${id} ${op.kind} → ${code} (fault)`,
          detail: { ...base, result: code },
        }
      }
    }
    const behaviour = plan.hook === 'behaviour' ? plan : NO_FAULT
    const protocol = behaviour.protocol
    const reply = this.#real(msg, session, gc, protocol?.kind === 'answer' ? protocol.set : undefined)
    if (!behaviour.altersBytes) return reply
    const bytes = Buffer.from(behaviour.onEncoded(Buffer.concat(reply.bytes)))
    return { ...reply, bytes: [bytes], summary: `${reply.summary} (fault ${behaviour.fault?.kind ?? ''})` }
  }

  #real(
    msg: LdapMessage,
    session: Session,
    gc: boolean,
    set: Readonly<Record<string, string | number | boolean>> | undefined,
  ): Reply {
    const { id, op } = msg
    switch (op.kind) {
      case 'bind': {
        // A password crosses a simple bind in clear: never in a capture the lab serves.
        session.tap?.conceal(op.password)
        const password = op.password.toString('utf8')
        const outcome = bind(this.#directory, op.name, password)
        if (outcome.account) session.account = outcome.account
        else if (outcome.code === LdapResult.success) delete session.account
        const who = outcome.account
          ? ` as ${outcome.account.user.signInAddress}`
          : outcome.logon
            ? `: ${describeLogon(outcome.logon)}`
            : ''
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
            ...(outcome.account ? { user: outcome.account.user.signInAddress } : {}),
          },
          ...(outcome.account ? { device: { user: outcome.account.user.signInAddress } } : {}),
        }
      }
      case 'sasl-bind': {
        const dc = this.#config.hosts.find((h) => h.roles.includes('dc'))?.name ?? this.#config.site.adDomain
        const outcome = saslBind(op.mechanism, op.credentials, session.sasl, {
          domain: this.#config.site.netbiosName,
          realm: this.deps.kerberos(),
          host: dc,
          nowMs: Math.floor(this.deps.clock.now()),
          replay: this.#replay,
          directory: this.#directory,
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
      case 'search':
        return this.#search(msg, op, session, gc, set)
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
        session.abandoned.add(op.id)
        return {
          bytes: [],
          silent: true,
          kind: 'ldap:abandon',
          summary: `#${id} abandon #${op.id}`,
          detail: { id, abandoned: op.id },
        }
      case 'extended':
        return {
          bytes: [
            encodeResult(
              id,
              LdapOp.extendedResponse,
              LdapResult.protocolError,
              `extended operation ${op.oid} is not supported by the lab`,
            ),
          ],
          kind: 'ldap:extended',
          summary: `#${id} extended ${op.oid} → protocolError`,
          detail: { id, oid: op.oid, result: 'protocolError' },
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

  #search(
    msg: LdapMessage,
    op: Extract<LdapOperation, { kind: 'search' }>,
    session: Session,
    gc: boolean,
    set: Readonly<Record<string, string | number | boolean>> | undefined,
  ): Reply {
    const { id } = msg
    const filter = filterText(op.filter)
    const base = { id, base: op.base, scope: op.scope, filter, attributes: op.attributes, gc }
    const head = `#${id} search "${op.base}" ${op.scope} ${filter}${op.attributes.length > 0 ? ` [${op.attributes.join(', ')}]` : ''}`
    const { anonymous } = this.#config.block
    const rootDse = op.base === '' && op.scope === 'base'
    if (!session.account && (anonymous === 'refuse' || (anonymous === 'rootdse' && !rootDse))) {
      return {
        bytes: [encodeResult(id, LdapOp.searchResultDone, LdapResult.operationsError, AD_MESSAGES.bindFirst)],
        kind: 'ldap:search',
        summary: `${head} → operationsError (bind first)`,
        detail: { ...base, result: 'operationsError', entries: [] },
      }
    }
    const run = (): SearchOutcome => {
      const out = search(this.#directory, op, new Date(this.deps.clock.now()), {
        gc,
        referralHost: this.#config.site.adDomain,
      })
      if (!set) return out
      if (set.entries === 'none') return { ...out, entries: [] }
      if (set.cACertificate !== undefined) {
        const entries: FoundEntry[] = out.entries.map((e) => ({
          dn: e.dn,
          attributes: e.attributes.flatMap((a) =>
            a.type.toLowerCase().startsWith('cacertificate')
              ? set.cACertificate === 'absent'
                ? []
                : [{ type: a.type, values: [Buffer.alloc(0)] }]
              : [a],
          ),
        }))
        return { ...out, entries }
      }
      return out
    }
    const paging = msg.controls.find((c) => c.oid === PAGED_RESULTS_OID)
    let outcome: SearchOutcome
    let doneControls: { oid: string; critical: boolean; value: Buffer }[] = []
    if (paging) {
      let request: { size: number; cookie: Buffer }
      try {
        request = decodePagedResults(paging.value)
      } catch (err) {
        return {
          bytes: [
            encodeResult(id, LdapOp.searchResultDone, LdapResult.protocolError, (err as Error).message),
          ],
          kind: 'ldap:search',
          summary: `${head} → protocolError (bad paged-results control)`,
          detail: { ...base, result: 'protocolError', entries: [] },
        }
      }
      let first: SearchOutcome | undefined
      const page = session.paged.page(
        request.cookie,
        Math.min(request.size, this.#config.block.maxPageSize),
        () => {
          first = run()
          return first.entries
        },
      )
      if (!page) {
        outcome = {
          code: LdapResult.unwillingToPerform,
          message: 'unknown paged-results cookie',
          entries: [],
        }
      } else {
        outcome = {
          code: first?.code === LdapResult.noSuchObject ? first.code : LdapResult.success,
          message: first?.message ?? '',
          ...(first?.matchedDn !== undefined ? { matchedDn: first.matchedDn } : {}),
          entries: page.entries,
        }
        doneControls = [
          { oid: PAGED_RESULTS_OID, critical: false, value: encodePagedResults(0, page.cookie) },
        ]
      }
    } else outcome = run()
    const bytes = [encodeSearchAnswer(id, outcome.entries, { ...outcome, controls: doneControls })]
    const dns = outcome.entries.map((e) => e.dn)
    const n = dns.length
    return {
      bytes,
      kind: 'ldap:search',
      summary: `${head} → ${resultName(outcome.code)}, ${n} entr${n === 1 ? 'y' : 'ies'}${n > 0 && n <= 3 ? `: ${dns.map((d) => d || '(RootDSE)').join('; ')}` : ''}`,
      detail: {
        ...base,
        result: resultName(outcome.code),
        entries: dns,
        ...(outcome.references ? { references: outcome.references } : {}),
        ...(paging ? { paged: true } : {}),
      },
    }
  }
}
