import type { Host, Site } from '../../core/site.js'
import {
  NB_CLASS_IN,
  NbOpcode,
  NbRcode,
  NbType,
  decodeNbAddresses,
  encodeNbAddresses,
  nameText,
  type NbPacket,
  type NbResource,
  type NetbiosName,
} from './codec.js'
import type { NetbiosBlock } from './schema.js'

/**
 * What the WINS double answers, pure: name queries from the names a Windows domain registers (the domain's
 * <1C> domain-controller group and <1B> domain master browser, each server's <00> workstation and <20> file
 * server names) and from the registrations devices made; registrations, refreshes and releases as a WINS
 * server grants them (RFC 1002 §4.2, §5.1.4).
 */

/** A name and who owns it. */
export interface NameOwner {
  readonly name: NetbiosName
  readonly group: boolean
  readonly addresses: readonly string[]
}

/** Microsoft's suffixes (MS KB 163409): what each of the names below is for. */
export const NbSuffix = {
  workstation: 0x00,
  domainMasterBrowser: 0x1b,
  domainControllers: 0x1c,
  fileServer: 0x20,
} as const

const netbiosOf = (dnsName: string): string => dnsName.split('.')[0]!.toUpperCase().slice(0, 15)

/** The names a domain's WINS holds for the scenario: the domain's, and each host's (on its address). */
export function scenarioNames(site: Site, hosts: readonly Host[]): NameOwner[] {
  const dcs = hosts.filter((h) => h.roles.includes('dc'))
  const domain = site.netbiosName.toUpperCase()
  const out: NameOwner[] = []
  const add = (name: string, suffix: number, group: boolean, addresses: readonly string[]): void => {
    if (addresses.length > 0) out.push({ name: { name, suffix, scope: '' }, group, addresses })
  }
  add(
    domain,
    NbSuffix.domainControllers,
    true,
    dcs.map((h) => h.address),
  )
  add(
    domain,
    NbSuffix.domainMasterBrowser,
    false,
    dcs.slice(0, 1).map((h) => h.address),
  )
  const seen = new Set<string>()
  for (const h of hosts) {
    const short = netbiosOf(h.name)
    if (seen.has(short)) continue
    seen.add(short)
    add(short, NbSuffix.workstation, false, [h.address])
    add(short, NbSuffix.fileServer, false, [h.address])
  }
  return out
}

const key = (n: NetbiosName): string => `${n.name.toUpperCase()}<${n.suffix}>${n.scope.toLowerCase()}`

/** The names devices registered, each until its TTL runs out (in lab time); bounded. */
export class Registrations {
  static readonly MAX = 4_096
  readonly #names = new Map<string, { owner: NameOwner; untilMs: number }>()

  find(name: NetbiosName, nowMs: number): NameOwner | undefined {
    const hit = this.#names.get(key(name))
    if (!hit) return undefined
    if (hit.untilMs > nowMs) return hit.owner
    this.#names.delete(key(name))
    return undefined
  }

  /** Registers (or refreshes) a name; false when the table is full of live names. */
  register(owner: NameOwner, untilMs: number, nowMs: number): boolean {
    if (!this.#names.has(key(owner.name)) && this.#names.size >= Registrations.MAX) {
      for (const [k, v] of this.#names) if (v.untilMs <= nowMs) this.#names.delete(k)
      if (this.#names.size >= Registrations.MAX) return false
    }
    this.#names.set(key(owner.name), { owner, untilMs })
    return true
  }

  release(name: NetbiosName, address: string): boolean {
    const hit = this.#names.get(key(name))
    if (!hit || !hit.owner.addresses.includes(address)) return false
    this.#names.delete(key(name))
    return true
  }

  /** Every registration held (one whose TTL ran out goes at the next query for its name or when full). */
  list(): { name: string; addresses: readonly string[]; until: string }[] {
    return [...this.#names.values()].map((v) => ({
      name: nameText(v.owner.name),
      addresses: v.owner.addresses,
      until: new Date(v.untilMs).toISOString(),
    }))
  }
}

export interface NbnsContext {
  readonly block: NetbiosBlock
  readonly names: readonly NameOwner[]
  readonly registrations: Registrations
  readonly nowMs: number
}

export type NbnsOutcome =
  | { readonly action: 'reply'; readonly packet: NbPacket; readonly summary: string }
  | { readonly action: 'ignore'; readonly reason: string }

export const RCODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(NbRcode).map(([k, v]) => [v, k]),
)
export const OPCODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(NbOpcode).map(([k, v]) => [v, k]),
)

function reply(
  request: NbPacket,
  rcode: number,
  answers: readonly NbResource[],
  flags: Partial<NbPacket['flags']> = {},
): NbPacket {
  return {
    id: request.id,
    response: true,
    opcode: request.opcode,
    flags: { aa: true, tc: false, rd: request.flags.rd, ra: true, broadcast: false, ...flags },
    rcode,
    questions: [],
    answers,
    authority: [],
    additional: [],
  }
}

/** A negative response names the question with a NULL record (RFC 1002 §4.2.14, §4.2.6). */
function negative(request: NbPacket, name: NetbiosName, rcode: number): NbPacket {
  return reply(request, rcode, [
    { name, type: NbType.NULL, class: NB_CLASS_IN, ttl: 0, data: new Uint8Array() },
  ])
}

function positive(request: NbPacket, owner: NameOwner, ttl: number): NbPacket {
  const data = encodeNbAddresses(owner.addresses.map((address) => ({ group: owner.group, ont: 3, address })))
  return reply(request, NbRcode.ok, [{ name: owner.name, type: NbType.NB, class: NB_CLASS_IN, ttl, data }])
}

const sameName = (a: NetbiosName, b: NetbiosName): boolean => key(a) === key(b)

function query(request: NbPacket, ctx: NbnsContext, name: NetbiosName, type: number): NbnsOutcome {
  if (type !== NbType.NB)
    return {
      action: 'ignore',
      reason: `question type 0x${type.toString(16)} (node status is the node’s to answer)`,
    }
  const own = ctx.names.find((o) => sameName(o.name, name))
  // A broadcast query is answered by the owner of the name (the DC, for the domain's names), never by WINS.
  if (request.flags.broadcast)
    return own
      ? {
          action: 'reply',
          packet: positive(request, own, 0),
          summary: `${nameText(name)} → ${own.addresses.join(', ')} (broadcast, answered as its owner)`,
        }
      : { action: 'ignore', reason: `broadcast query for ${nameText(name)}, a name the lab does not own` }
  const owner = own ?? ctx.registrations.find(name, ctx.nowMs)
  if (!owner)
    return {
      action: 'reply',
      packet: negative(request, name, NbRcode.NAM_ERR),
      summary: `${nameText(name)} → NAM_ERR (no such name)`,
    }
  return {
    action: 'reply',
    packet: positive(request, owner, ctx.block.ttlSeconds),
    summary: `${nameText(name)} → ${owner.addresses.join(', ')}`,
  }
}

/** A registration, refresh or release: its record carries the name and the owner's NB data. */
function update(request: NbPacket, ctx: NbnsContext, peer: string): NbnsOutcome {
  const record = request.additional[0]
  if (!record || record.type !== NbType.NB)
    return { action: 'reply', packet: reply(request, NbRcode.FMT_ERR, []), summary: 'FMT_ERR: no NB record' }
  const name = record.name
  let owners
  try {
    owners = decodeNbAddresses(record.data)
  } catch {
    return {
      action: 'reply',
      packet: negative(request, name, NbRcode.FMT_ERR),
      summary: `${nameText(name)}: FMT_ERR`,
    }
  }
  const addresses = owners.length > 0 ? owners.map((o) => o.address) : [peer]
  const owner: NameOwner = { name, group: owners[0]?.group ?? false, addresses }
  const echo = (rcode: number, ttl: number): NbPacket =>
    reply(request, rcode, [{ name, type: NbType.NB, class: NB_CLASS_IN, ttl, data: record.data }])
  const text = nameText(name)
  if (request.flags.broadcast)
    return { action: 'ignore', reason: `broadcast ${OPCODE_NAMES[request.opcode]} of ${text}` }
  if (request.opcode === NbOpcode.release) {
    const released = ctx.registrations.release(name, addresses[0] ?? peer)
    return {
      action: 'reply',
      packet: echo(NbRcode.ok, 0),
      summary: `${text} released${released ? '' : ' (was not registered)'}`,
    }
  }
  if (!ctx.block.registrations)
    return {
      action: 'reply',
      packet: echo(NbRcode.RFS_ERR, 0),
      summary: `${text}: RFS_ERR (registrations refused)`,
    }
  const taken = ctx.names.find((o) => sameName(o.name, name))
  if (taken && !taken.group && !taken.addresses.includes(addresses[0] ?? ''))
    return {
      action: 'reply',
      packet: echo(NbRcode.ACT_ERR, 0),
      summary: `${text}: ACT_ERR (owned by ${taken.addresses.join(', ')})`,
    }
  const ttl = ctx.block.ttlSeconds
  if (!ctx.registrations.register(owner, ctx.nowMs + ttl * 1000, ctx.nowMs))
    return { action: 'reply', packet: echo(NbRcode.RFS_ERR, 0), summary: `${text}: RFS_ERR (table full)` }
  return {
    action: 'reply',
    packet: echo(NbRcode.ok, ttl),
    summary: `${text} registered for ${addresses.join(', ')}`,
  }
}

/** Answers one request; `rcode` is a fault's forced error (RFC 1002 name, e.g. NAM_ERR). */
export function answerNbns(request: NbPacket, ctx: NbnsContext, peer: string, rcode?: string): NbnsOutcome {
  if (request.response) return { action: 'ignore', reason: 'a response, not a request' }
  const q = request.questions[0]
  const named = q?.name ?? request.additional[0]?.name
  if (rcode !== undefined && named) {
    const code = NbRcode[rcode as keyof typeof NbRcode] ?? NbRcode.SRV_ERR
    return {
      action: 'reply',
      packet: negative(request, named, code),
      summary: `${nameText(named)} → ${rcode} (fault)`,
    }
  }
  switch (request.opcode) {
    case NbOpcode.query:
      if (!q || request.questions.length !== 1)
        return {
          action: 'reply',
          packet: reply(request, NbRcode.FMT_ERR, []),
          summary: 'FMT_ERR: not one question',
        }
      return query(request, ctx, q.name, q.type)
    case NbOpcode.registration:
    case NbOpcode.multihomedRegistration:
    case NbOpcode.refresh:
    case NbOpcode.refreshAlt:
    case NbOpcode.release:
      return update(request, ctx, peer)
    default:
      return {
        action: 'reply',
        packet: reply(request, NbRcode.IMP_ERR, []),
        summary: `opcode ${request.opcode}: IMP_ERR (not implemented by a WINS server)`,
      }
  }
}
