import type { ProtocolFault } from '../../core/faults/apply.js'
import { normalizeMac } from '../../core/journal/devices.js'
import {
  DhcpMessageType,
  Opt,
  encodeSearchList,
  ipBytes,
  ipText,
  ipsOption,
  readIps,
  readU32,
  textOption,
  u32Option,
  type DhcpMessage,
} from './codec.js'

/**
 * The DHCP server's decisions, pure (RFC 2131 §4.3): which address to offer, when to ACK or NAK, which
 * options to send (honouring the parameter request list), where the reply goes. The lease table is a
 * plain object the server persists.
 */

export interface Lease {
  readonly mac: string
  readonly address: string
  /** Epoch ms. */
  readonly expires: number
  readonly state: 'offered' | 'bound' | 'declined'
}

/** Leases by MAC and by address; plain data, so it can be saved and restored. */
export class LeaseTable {
  readonly #byMac = new Map<string, Lease>()
  readonly #byAddress = new Map<string, Lease>()

  constructor(leases: readonly Lease[] = []) {
    for (const l of leases) this.set(l)
  }

  set(lease: Lease): void {
    const old = this.#byMac.get(lease.mac)
    if (old && this.#byAddress.get(old.address) === old) {
      this.#byAddress.delete(old.address)
      if (old.address !== lease.address) this.#forgetScan()
    }
    this.#byMac.set(lease.mac, lease)
    this.#byAddress.set(lease.address, lease)
    this.#scan.heldUntil = Math.min(this.#scan.heldUntil, lease.expires)
  }

  release(mac: string): void {
    const l = this.#byMac.get(mac)
    if (!l) return
    this.#byMac.delete(mac)
    if (this.#byAddress.get(l.address) === l) this.#byAddress.delete(l.address)
    this.#forgetScan()
  }

  /**
   * Where the search for the first free address may start: every address of the pool below `from` was held
   * (or skipped) when it was last looked at, and stays so until a lease is released or moved, the first of
   * them expires (`heldUntil`), or the pool changes (`owner`). Without it a crowd's DISCOVERs each walked
   * every lease before them.
   */
  #scan: { owner: object | undefined; from: number; heldUntil: number } = {
    owner: undefined,
    from: 0,
    heldUntil: Infinity,
  }

  #forgetScan(): void {
    this.#scan = { owner: undefined, from: 0, heldUntil: Infinity }
  }

  /** The lowest address from `start` to `end` that no lease holds and `skip` does not rule out. */
  firstFree(
    owner: object,
    start: number,
    end: number,
    now: number,
    skip: (address: string) => boolean,
  ): string | undefined {
    if (this.#scan.owner !== owner || now >= this.#scan.heldUntil)
      this.#scan = { owner, from: start, heldUntil: Infinity }
    for (let n = this.#scan.from; n <= end; n++) {
      const address = intToIp(n)
      const skipped = skip(address)
      const held = skipped ? undefined : this.holder(address, now)
      if (!skipped && !held) return address
      this.#scan.from = n + 1
      if (held) this.#scan.heldUntil = Math.min(this.#scan.heldUntil, held.expires)
    }
    return undefined
  }

  ofMac(mac: string): Lease | undefined {
    return this.#byMac.get(mac)
  }

  /** Who holds an address now (an expired lease holds nothing). */
  holder(address: string, now: number): Lease | undefined {
    const l = this.#byAddress.get(address)
    return l && l.expires > now ? l : undefined
  }

  all(): Lease[] {
    return [...this.#byMac.values()]
  }
}

/** Everything the decisions need, resolved from the scenario (see server.ts). */
export interface DhcpPlan {
  readonly serverId: string
  readonly subnetMask: string
  readonly poolStart: number
  readonly poolEnd: number
  readonly reservations: ReadonlyMap<string, string>
  readonly allow: readonly string[]
  readonly leaseSeconds: number
  /** Option code → value, in the order they are sent (53, 54, 51, 58, 59 come from the decision). */
  readonly options: ReadonlyMap<number, Uint8Array>
  readonly honourParameterList: boolean
}

const OFFER_HOLD_MS = 60_000
const DECLINE_HOLD_MS = 10 * 60_000
/** Sent whatever option 55 says (RFC 2131 §4.3.1 requires the lease options; 1 because clients need it). */
const ALWAYS = new Set<number>([
  Opt.messageType,
  Opt.serverId,
  Opt.leaseTime,
  Opt.renewalTime,
  Opt.rebindingTime,
  Opt.subnetMask,
])

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0)
}
export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
}

export function allowed(plan: DhcpPlan, mac: string): boolean {
  if (plan.reservations.has(mac)) return true
  return plan.allow.some((a) => a.toLowerCase() === 'any' || mac.startsWith(normalizePrefix(a)))
}

function normalizePrefix(p: string): string {
  const hex = p.replace(/[^0-9a-fA-F]/g, '').toLowerCase()
  return (hex.match(/../g) ?? []).join(':')
}

function inPool(plan: DhcpPlan, address: string): boolean {
  const n = ipToInt(address)
  return n >= plan.poolStart && n <= plan.poolEnd
}

/** The address this client should have: its reservation, its lease, the one it asks for if free, or the first free one. */
function chooseAddress(
  plan: DhcpPlan,
  leases: LeaseTable,
  mac: string,
  requested: string | undefined,
  now: number,
): string | undefined {
  const reserved = plan.reservations.get(mac)
  if (reserved) return reserved
  const own = leases.ofMac(mac)
  if (own && own.state !== 'declined' && inPool(plan, own.address)) return own.address
  const reservedAddresses = new Set(plan.reservations.values())
  const free = (a: string): boolean => inPool(plan, a) && !reservedAddresses.has(a) && !leases.holder(a, now)
  if (requested && free(requested)) return requested
  return leases.firstFree(plan, plan.poolStart, plan.poolEnd, now, (a) => reservedAddresses.has(a))
}

export interface DhcpReply {
  readonly type: number
  readonly yiaddr: string
  readonly options: Map<number, Uint8Array>
}

export interface DhcpDecision {
  readonly reply?: DhcpReply
  /** Why nothing was sent, or what was decided, in words for the journal. */
  readonly note: string
}

function replyOptions(
  plan: DhcpPlan,
  request: DhcpMessage,
  type: number,
  lease: boolean,
): Map<number, Uint8Array> {
  const wanted = request.options.get(Opt.parameterList)
  const asked = new Set(wanted ?? [])
  const out = new Map<number, Uint8Array>()
  out.set(Opt.messageType, Uint8Array.of(type))
  out.set(Opt.serverId, ipBytes(plan.serverId))
  if (lease) {
    out.set(Opt.leaseTime, u32Option(plan.leaseSeconds))
    out.set(Opt.renewalTime, u32Option(Math.floor(plan.leaseSeconds / 2)))
    out.set(Opt.rebindingTime, u32Option(Math.floor((plan.leaseSeconds * 7) / 8)))
  }
  for (const [code, value] of plan.options) {
    if (!lease && (code === Opt.leaseTime || code === Opt.renewalTime || code === Opt.rebindingTime)) continue
    if (plan.honourParameterList && wanted && !asked.has(code) && !ALWAYS.has(code)) continue
    out.set(code, value)
  }
  return out
}

/** A message the server answers, in the lease table's context: who sent it and the addresses it names. */
interface Asking {
  readonly plan: DhcpPlan
  readonly leases: LeaseTable
  readonly req: DhcpMessage
  readonly mac: string
  readonly requested: string | undefined
  readonly now: number
}

/** DHCPDISCOVER: an address held for the client for a while, offered. */
function discover({ plan, leases, req, mac, requested, now }: Asking): DhcpDecision {
  const address = chooseAddress(plan, leases, mac, requested, now)
  if (!address) return { note: 'the pool is exhausted' }
  const own = leases.ofMac(mac)
  if (!own || own.address !== address || own.state !== 'bound')
    leases.set({ mac, address, expires: now + OFFER_HOLD_MS, state: 'offered' })
  return {
    reply: {
      type: DhcpMessageType.OFFER,
      yiaddr: address,
      options: replyOptions(plan, req, DhcpMessageType.OFFER, true),
    },
    note: `offer ${address}`,
  }
}

/** DHCPREQUEST: selecting (ours or another server's offer), or renewing; ACK the right address, NAK another. */
function request(a: Asking): DhcpDecision {
  const { plan, leases, req, mac, requested, now } = a
  const serverId = readIps(req.options.get(Opt.serverId))[0]
  if (serverId !== undefined && serverId !== plan.serverId) {
    // SELECTING another server's offer: forget ours (RFC 2131 §4.3.2), say nothing.
    if (leases.ofMac(mac)?.state === 'offered') leases.release(mac)
    return { note: `the client chose server ${serverId}` }
  }
  const wants = requested ?? (req.ciaddr !== '0.0.0.0' ? req.ciaddr : undefined)
  if (!wants) return refuse(plan, 'no requested address and no ciaddr')
  const right = chooseAddress(plan, leases, mac, wants, now)
  if (right !== wants)
    return refuse(plan, `${wants} is not the address for ${mac}${right ? ` (that is ${right})` : ''}`)
  leases.set({ mac, address: wants, expires: now + plan.leaseSeconds * 1000, state: 'bound' })
  return {
    reply: {
      type: DhcpMessageType.ACK,
      yiaddr: wants,
      options: replyOptions(plan, req, DhcpMessageType.ACK, true),
    },
    note: `ack ${wants}`,
  }
}

/** DHCPDECLINE: the address is in use on the link; hold it back from everyone for a while. */
function decline({ leases, mac, requested, now }: Asking): DhcpDecision {
  if (requested)
    leases.set({
      mac: `declined:${requested}`,
      address: requested,
      expires: now + DECLINE_HOLD_MS,
      state: 'declined',
    })
  leases.release(mac)
  return { note: `declined ${requested ?? '?'}: held back for ${DECLINE_HOLD_MS / 60_000} minutes` }
}

/**
 * Decides the answer to one client message and updates the lease table (RFC 2131 §4.3). `serverIdOk` is
 * whether option 54, if present, names this server.
 */
export function decideDhcp(plan: DhcpPlan, leases: LeaseTable, req: DhcpMessage, now: number): DhcpDecision {
  const type = req.options.get(Opt.messageType)?.[0]
  const mac = normalizeMac(req.chaddr)
  if (req.op !== 1) return { note: 'not a client request (op 2)' }
  if (type === undefined) return { note: 'a BOOTP request without option 53: not answered' }
  if (req.htype !== 1 || req.hlen !== 6)
    return { note: `hardware type ${req.htype}/${req.hlen} is not Ethernet` }
  if (!allowed(plan, mac)) return { note: `${mac} is not in the allow-list (${plan.allow.join(', ')})` }
  const asking: Asking = {
    plan,
    leases,
    req,
    mac,
    requested: readIps(req.options.get(Opt.requestedAddress))[0],
    now,
  }
  switch (type) {
    case DhcpMessageType.DISCOVER:
      return discover(asking)
    case DhcpMessageType.REQUEST:
      return request(asking)
    case DhcpMessageType.DECLINE:
      return decline(asking)
    case DhcpMessageType.RELEASE:
      leases.release(mac)
      return { note: `released ${req.ciaddr}` }
    case DhcpMessageType.INFORM:
      return {
        reply: {
          type: DhcpMessageType.ACK,
          yiaddr: '0.0.0.0',
          options: replyOptions(plan, req, DhcpMessageType.ACK, false),
        },
        note: `inform from ${req.ciaddr}`,
      }
    default:
      return { note: `message type ${type} is not a client message` }
  }
}

/**
 * Where a reply goes (RFC 2131 §4.1): to a relay at giaddr (on the server port), else to ciaddr, else
 * broadcast (a NAK, the broadcast flag, or no way to unicast before the client has an address).
 */
export function replyTarget(
  req: DhcpMessage,
  reply: DhcpReply,
  broadcast: string,
): { address: string; toRelay: boolean } {
  if (req.giaddr !== '0.0.0.0') return { address: req.giaddr, toRelay: true }
  if (reply.type !== DhcpMessageType.NAK && req.ciaddr !== '0.0.0.0')
    return { address: req.ciaddr, toRelay: false }
  return { address: broadcast, toRelay: false }
}

/** Reply options as the journal shows them: `15=corp.contoso.test 119=… 6=10.50.0.1`. */
export function describeOptions(options: ReadonlyMap<number, Uint8Array>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [code, v] of options) {
    switch (code) {
      case Opt.subnetMask:
      case Opt.serverId:
      case Opt.requestedAddress:
        out[code] = ipText(v)
        break
      case Opt.router:
      case Opt.dns:
      case Opt.ntp:
      case Opt.wins:
        out[code] = readIps(v).join(',')
        break
      case Opt.leaseTime:
      case Opt.renewalTime:
      case Opt.rebindingTime:
        out[code] = String(readU32(v))
        break
      case Opt.domainName:
      case Opt.message:
      case Opt.vendorClass:
        out[code] = Buffer.from(v).toString('latin1')
        break
      default:
        out[code] = Buffer.from(v).toString('hex')
    }
  }
  return out
}

/** Option 119 in the encoding the scenario asks for. */
export function searchListOption(names: readonly string[], encoding: 'semicolon' | 'rfc3397'): Uint8Array {
  return encoding === 'rfc3397' ? encodeSearchList(names) : textOption(names.join(';'))
}

export { ipsOption, textOption }

/** What the `answer` fault changes in a reply. */
function alterReply(reply: DhcpReply, set: Readonly<Record<string, string | number | boolean>>): DhcpReply {
  const options = new Map(reply.options)
  const put = (code: number, value: string, encode: (v: string) => Uint8Array): void => {
    if (value === '') options.delete(code)
    else options.set(code, encode(value))
  }
  if (typeof set.domainName === 'string') put(Opt.domainName, set.domainName, textOption)
  if (typeof set.searchList === 'string') put(Opt.domainSearch, set.searchList, textOption)
  if (typeof set.dns === 'string') put(Opt.dns, set.dns, (v) => ipsOption(v.split(',')))
  if (typeof set.router === 'string') put(Opt.router, set.router, (v) => ipsOption(v.split(',')))
  if (typeof set.leaseSeconds === 'number' && options.has(Opt.leaseTime)) {
    options.set(Opt.leaseTime, u32Option(set.leaseSeconds))
    options.set(Opt.renewalTime, u32Option(Math.floor(set.leaseSeconds / 2)))
    options.set(Opt.rebindingTime, u32Option(Math.floor((set.leaseSeconds * 7) / 8)))
  }
  return { ...reply, options, ...(typeof set.yiaddr === 'string' ? { yiaddr: set.yiaddr } : {}) }
}

/** A DHCPNAK from this server, with the reason in option 56 when there is one (RFC 2131 §4.3.2). */
function nak(serverId: string, why?: string): DhcpReply {
  const options = new Map<number, Uint8Array>([
    [Opt.messageType, Uint8Array.of(DhcpMessageType.NAK)],
    [Opt.serverId, ipBytes(serverId)],
  ])
  if (why !== undefined) options.set(Opt.message, textOption(why))
  return { type: DhcpMessageType.NAK, yiaddr: '0.0.0.0', options }
}

/** A request refused with a NAK that says why. */
const refuse = (plan: DhcpPlan, why: string): DhcpDecision => ({ reply: nak(plan.serverId, why), note: why })

/**
 * The whole answer to a client message, with what a fault asks of it: `error` makes it a NAK, `answer`
 * changes its fields (`alterReply`). The lease table is updated as `decideDhcp` decided; a message that gets
 * no answer gets none with a fault either.
 */
export function answerDhcp(
  plan: DhcpPlan,
  leases: LeaseTable,
  req: DhcpMessage,
  now: number,
  fault: ProtocolFault | undefined,
): DhcpDecision {
  const decision = decideDhcp(plan, leases, req, now)
  if (!decision.reply || fault === undefined) return decision
  return {
    ...decision,
    reply: fault.kind === 'error' ? nak(plan.serverId) : alterReply(decision.reply, fault.set),
  }
}

/** The reply as a message in the request's frame (RFC 2131 §4.3: op 2, the client's xid, flags and chaddr). */
export function replyMessage(req: DhcpMessage, reply: DhcpReply): DhcpMessage {
  return {
    op: 2,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: reply.type === DhcpMessageType.NAK ? '0.0.0.0' : req.ciaddr,
    yiaddr: reply.yiaddr,
    siaddr: '0.0.0.0',
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: '',
    file: '',
    options: reply.options,
  }
}
