import { DeviceConfigs } from '../../core/device-configs.js'
import type { RemoteInfo, Socket } from 'node:dgram'
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { dirname, join } from 'node:path'
import { LabDecodeError, LabError } from '../../core/errors.js'
import { NO_FAULT, waitFor } from '../../core/faults/apply.js'
import type { Fault } from '../../core/faults/types.js'
import { namedLink, offLink, type NamedLink } from '../../core/net/link.js'
import type { Peer } from '../../core/journal/journal.js'
import { normalizeMac } from '../../core/journal/devices.js'
import { closeUdp } from '../../core/net/udp.js'
import type { DeviceRef } from '../../core/journal/devices.js'
import { parseDuration } from '../../core/schema/common.js'
import type { Host, Network, Site } from '../../core/site.js'
import type { BoundPort, ListenRequest } from '../../core/server.js'
import type { ServerDeps } from '../contract.js'
import { ServerBase } from '../../core/server-base.js'
import {
  LeaseTable,
  answerDhcp,
  replyMessage,
  describeOptions,
  intToIp,
  ipToInt,
  ipsOption,
  replyTarget,
  searchListOption,
  textOption,
  type DhcpPlan,
  type DhcpReply,
  type Lease,
} from './behaviour.js'
import {
  DhcpMessageType,
  Opt,
  decodeDhcp,
  encodeDhcp,
  ipBytes,
  messageTypeName,
  readIps,
  readU16,
  type DhcpMessage,
  peekChaddr,
} from './codec.js'
import type { DhcpEvents } from './events.js'
import type { DhcpConfig } from './schema.js'
import { probeDhcpServers } from './probe.js'

/** What the DHCP server gets of a scenario. */
export interface DhcpSlice {
  readonly block: DhcpConfig
  readonly site: Site
  readonly hosts: readonly Host[]
  readonly network: Network
}

/**
 * Leases kept per lab in the state directory, so they outlive a restart: an append-only log (one JSON line
 * per change, written before the answer that depends on it leaves), compacted when the lab starts.
 */
export class DhcpRuntime {
  readonly leases: LeaseTable
  readonly #file: string
  #fd: number | undefined

  constructor(stateDir: string) {
    this.#file = join(stateDir, 'dhcp', 'leases.jsonl')
    const table = new LeaseTable()
    if (existsSync(this.#file)) {
      for (const line of readFileSync(this.#file, 'utf8').split('\n')) {
        if (!line) continue
        try {
          const entry = JSON.parse(line) as Lease | { released: string }
          if ('released' in entry) table.release(entry.released)
          else table.set(entry)
        } catch {
          // a torn last line after a crash: the phones simply ask again
        }
      }
    }
    this.leases = table
  }

  #open(): number {
    if (this.#fd === undefined) {
      mkdirSync(dirname(this.#file), { recursive: true })
      // Compact once: the current table, then appends.
      const tmp = `${this.#file}.${process.pid}.tmp`
      writeFileSync(
        tmp,
        this.leases
          .all()
          .map((l) => JSON.stringify(l) + '\n')
          .join(''),
      )
      renameSync(tmp, this.#file)
      this.#fd = openSync(this.#file, 'a')
    }
    return this.#fd
  }

  /**
   * Records what changed for a MAC (its lease, or that it has none). When the file cannot be written (a full
   * disk) the table in memory still holds the lease; the next save that can write starts the file afresh from
   * the whole table, so nothing that was missed is lost.
   */
  save(mac: string): void {
    const lease = this.leases.ofMac(mac)
    try {
      writeSync(this.#open(), JSON.stringify(lease ?? { released: mac }) + '\n')
    } catch (err) {
      this.close()
      throw err
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
  }
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

/** Resolves the scenario into what the decisions need. */
export function planFor(slice: DhcpSlice, serverId: string): DhcpPlan {
  const { block, site } = slice
  const [base, bits] = site.subnet.split('/')
  const prefix = Number(bits)
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  const network = ipToInt(base ?? '0.0.0.0') & mask
  const poolStart = block.pool ? ipToInt(block.pool.start) : network + 100
  const poolEnd = block.pool ? ipToInt(block.pool.end) : network + 199
  const options = new Map<number, Uint8Array>()
  options.set(Opt.subnetMask, ipBytes(intToIp(mask)))
  options.set(Opt.router, ipBytes(block.router ?? site.labAddress))
  options.set(Opt.dns, ipsOption(block.dns ?? [site.labAddress]))
  const domain = block.domainName ?? site.dhcpDomain
  if (domain !== '') options.set(Opt.domainName, textOption(domain))
  const search = block.searchList ?? site.searchList
  if (search.length > 0) options.set(Opt.domainSearch, searchListOption(search, block.searchListEncoding))
  if (block.ntp.length > 0) options.set(Opt.ntp, ipsOption(block.ntp))
  if (block.wins.length > 0) options.set(Opt.wins, ipsOption(block.wins))
  if (block.nodeType !== undefined) options.set(Opt.nodeType, Uint8Array.of(block.nodeType))
  for (const o of block.options)
    options.set(o.code, o.hex !== undefined ? hexBytes(o.hex) : textOption(o.text ?? ''))
  return {
    serverId,
    subnetMask: intToIp(mask),
    poolStart,
    poolEnd,
    reservations: new Map(block.reservations.map((r) => [normalizeMac(r.mac), r.address])),
    allow: block.allow,
    leaseSeconds: Math.max(1, Math.round(parseDuration(block.leaseTime) / 1000)),
    options,
    honourParameterList: block.honourParameterList,
  }
}

/**
 * The interface DHCP may answer on, checked: the only non-loopback link this process can see (`all`: the
 * links as `os.networkInterfaces()` lists them).
 */
export function confinedInterface(
  name: string,
  all: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
  clusterLinks: readonly string[] = [],
): { address: string; broadcast: string; netmask: string } {
  const others = Object.entries(all)
    .filter(([n, addrs]) => n !== name && !clusterLinks.includes(n) && (addrs ?? []).some((a) => !a.internal))
    .map(([n]) => n)
  const own = (all[name] ?? []).find((a) => a.family === 'IPv4')
  if (!own) {
    throw new LabError(
      'LAB_ERR_DHCP_UNSAFE',
      `Failed to start dhcp: interface ${name} has no IPv4 address here. Give it the lab address, or name the right interface.`,
    )
  }
  if (others.length > 0) {
    throw new LabError(
      'LAB_ERR_DHCP_UNSAFE',
      `Failed to start dhcp: it would also answer on ${others.join(', ')}, not only on ${name}. Run the lab in a network namespace that holds only ${name} (see README "DHCP safety").`,
    )
  }
  const broadcast = intToIp((ipToInt(own.address) | ~ipToInt(own.netmask)) >>> 0)
  return { address: own.address, broadcast, netmask: own.netmask }
}

/**
 * The DHCP server: one UDP socket; outside loopback mode it answers only when confined to the named
 * interface, only MACs in its allow-list, and only after checking that no other server answers on the
 * segment. Every message and answer is journaled with the MAC; an ACK ties the MAC to its address.
 */
export class DhcpServer extends ServerBase<DhcpSlice, ServerDeps, DhcpEvents> {
  readonly name = 'dhcp'
  #config: DhcpSlice
  readonly #listen: readonly ListenRequest[]
  readonly #runtime: DhcpRuntime
  #socket: Socket | undefined
  #port = 67
  #plan!: DhcpPlan
  /** Clients with a configuration of their own, found by the MAC in their message. */
  readonly #devices = new DeviceConfigs<DhcpSlice>(() => undefined)
  #broadcast = '255.255.255.255'
  #sender: Socket | undefined
  #serverId: string
  /** Outside loopback: the named link's address and mask, and the host's own addresses. */
  #link: NamedLink | undefined

  constructor(config: DhcpSlice, listen: readonly ListenRequest[], deps: ServerDeps, runtime: DhcpRuntime) {
    super(deps)
    this.#config = config
    this.#listen = listen
    this.#runtime = runtime
    this.#serverId = config.site.labAddress
    this.#plan = planFor(config, this.#serverId)
  }

  get #loopback(): boolean {
    return this.#config.network.mode === 'loopback'
  }

  configure(config: DhcpSlice): void {
    this.#config = config
    this.#plan = planFor(config, this.#serverId)
  }

  /** Gives one client (its MAC) options of its own (a trainee's exercise), or takes them back. */
  configureDevice(mac: string, config: DhcpSlice | undefined): void {
    this.#devices.set(mac, config)
  }

  protected async bind(): Promise<readonly BoundPort[]> {
    const req = this.#listen[0]!
    if (!this.#loopback) {
      const name = this.#config.block.interface ?? this.#config.network.interface
      if (name === undefined) {
        // Safe by default: outside loopback, DHCP answers only on a link somebody named.
        this.record('dhcp:disabled', {
          summary:
            'not serving: outside loopback mode DHCP answers only on a named interface (servers.dhcp.interface)',
          detail: { mode: this.#config.network.mode },
        })
        return []
      }
      const link = confinedInterface(name, undefined, this.#config.block.clusterLinks)
      this.#broadcast = link.broadcast
      this.#serverId = link.address
      this.#link = namedLink(link.address, link.netmask)
      this.#plan = planFor(this.#config, this.#serverId)
      if (this.#config.block.rogueCheck) await this.#rogueCheck(name, req.port)
    }
    const deviceOf = (msg: Buffer): DeviceRef | undefined => {
      const mac = peekChaddr(msg)
      return mac === undefined ? undefined : { mac }
    }
    const socket = await this.listenUdp(
      req.address,
      req.port,
      (_s, msg, rinfo) => this.#receive(msg, rinfo),
      {
        reuseAddr: !this.#loopback,
        deviceOf,
      },
    )
    socket.setBroadcast(true)
    this.#socket = socket
    this.#port = socket.address().port
    if (!this.#loopback) {
      // RFC 2131 §4.1: broadcast replies go to 255.255.255.255. Sent from the link's own address (same port),
      // Linux routes the limited broadcast out of that link: the confined one, and only it.
      this.#sender = await this.listenUdp(
        this.#serverId,
        this.#port,
        // Unicast to the link's own address (a relay agent, a renewing client) arrives on this socket.
        (_s, msg, rinfo) => this.#receive(msg, rinfo),
        { reuseAddr: true, deviceOf },
      )
      this.#sender.setBroadcast(true)
    }
    return [{ ...req, server: 'dhcp', address: socket.address().address, port: this.#port }]
  }

  #receive(msg: Buffer, rinfo: RemoteInfo): void {
    const peer: Peer = { address: rinfo.address, port: rinfo.port, transport: 'udp' }
    // The socket listens on every address (a client with no address broadcasts from 0.0.0.0), so the
    // named link is checked on the source (issue 16: a DISCOVER to 127.0.0.1:67 was offered an address).
    const foreign = this.#link === undefined ? undefined : offLink(rinfo.address, this.#link)
    if (foreign !== undefined) this.peerRefused(peer, foreign)
    else this.track(this.#handle(msg, rinfo, peer), peer)
  }

  protected async unbind(): Promise<void> {
    const s = this.#socket
    const sender = this.#sender
    this.#socket = undefined
    this.#sender = undefined
    if (s) await closeUdp(s)
    if (sender) await closeUdp(sender)
  }

  protected override closed(): void {
    this.#runtime.close()
  }

  /** Sends a DISCOVER and listens: another server answering on the segment would make this one a rogue. */
  async #rogueCheck(name: string, serverPort: number): Promise<void> {
    const offers = await probeDhcpServers(this.#broadcast, serverPort, this.#config.block.rogueWaitMs)
    this.record('dhcp:rogue-check', {
      summary:
        offers.length === 0
          ? `no other DHCP server answers on ${name}`
          : `another DHCP server answers on ${name}: ${offers.join(', ')}`,
      detail: { interface: name, offers },
    })
    if (offers.length > 0) {
      throw new LabError(
        'LAB_ERR_DHCP_UNSAFE',
        `Failed to start dhcp: another DHCP server answers on ${name}: ${offers.join(', ')}. Stop it, or set servers.dhcp.rogueCheck: false if that is intended.`,
      )
    }
  }

  /** One client message: read, journaled, its fault decided, answered by the behaviour, sent. */
  async #handle(msg: Buffer, rinfo: RemoteInfo, peer: Peer): Promise<void> {
    const req = this.#decode(msg, peer)
    if (!req) return
    const asked = this.#journalRequest(req, peer)
    const fault = this.#fault(asked, peer)
    const plan = this.plan(fault, 'udp', 300)
    if (plan.hook === 'silence') {
      this.#journalSilence(asked, peer, `fault ${plan.kind}`, { fault: plan.kind })
      return
    }
    // Garbage goes where the answer would have gone, so the behaviour still decides the answer's target.
    const behaviour = plan.hook === 'behaviour' ? plan : NO_FAULT
    await waitFor(behaviour.delayMs)
    const own = this.#devices.find(peer.address, { mac: asked.mac })
    const decision = answerDhcp(
      own ? planFor(own.config, this.#serverId) : this.#plan,
      this.#runtime.leases,
      req,
      this.deps.clock.now(),
      behaviour.protocol,
    )
    const reply = decision.reply
    if (reply?.type === DhcpMessageType.ACK || asked.type === 'RELEASE' || asked.type === 'DECLINE')
      this.#saveLease(asked.mac, peer)
    if (!reply) {
      this.#journalSilence(asked, peer, decision.note, { note: decision.note })
      return
    }
    const maxSize = Math.max(576, readU16(req.options.get(Opt.maxMessageSize)) ?? 576) - 28
    const bytes =
      plan.hook === 'connection' && plan.kind === 'garbage'
        ? plan.bytes
        : behaviour.onEncoded(encodeDhcp(replyMessage(req, reply), { maxSize }))
    this.#send(req, reply, bytes, rinfo, { ...asked, peer, note: decision.note, fault: fault?.kind })
  }

  /** The message, or undefined: DHCP's answer to garbage is silence (RFC 2131 has no error message for it). */
  #decode(msg: Buffer, peer: Peer): DhcpMessage | undefined {
    try {
      return decodeDhcp(msg)
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      this.record('dhcp:malformed', {
        summary: `malformed datagram (${msg.length} octets) ignored: ${err.message}`,
        detail: { bytes: msg.length, error: err.message },
        peer,
      })
      return undefined
    }
  }

  /** Journals the request with what the phone asked; returns what the rest of the exchange names it by. */
  #journalRequest(req: DhcpMessage, peer: Peer): Asked {
    const mac = normalizeMac(req.chaddr)
    const type = messageTypeName(req.options.get(Opt.messageType)?.[0])
    const vendorClass = req.options.has(Opt.vendorClass)
      ? Buffer.from(req.options.get(Opt.vendorClass)!).toString('latin1')
      : undefined
    const parameterList = [...(req.options.get(Opt.parameterList) ?? [])]
    const xid = req.xid.toString(16).padStart(8, '0')
    const relay = req.giaddr !== '0.0.0.0' ? ` via relay ${req.giaddr}` : ''
    const list = parameterList.length > 0 ? ` asks for ${parameterList.join(',')}` : ''
    this.record('dhcp:request', {
      summary: `${type} from ${mac} xid ${xid}${relay}${list}`,
      detail: {
        type,
        mac,
        xid,
        ciaddr: req.ciaddr,
        giaddr: req.giaddr,
        parameterList,
        ...(vendorClass !== undefined ? { vendorClass } : {}),
        ...(req.options.has(Opt.requestedAddress)
          ? { requested: readIps(req.options.get(Opt.requestedAddress))[0] }
          : {}),
        ...(req.options.has(Opt.serverId) ? { serverId: readIps(req.options.get(Opt.serverId))[0] } : {}),
      },
      peer,
      device: { mac },
      // On loopback each emulated phone sends from an address of its own (PhoneNet.forDevice): that address is
      // the device from here on. On a segment the source is 0.0.0.0 or a relay agent.
      peerIsDevice: this.#loopback && peer.address !== '0.0.0.0',
    })
    return { mac, type, xid, vendorClass }
  }

  #fault(asked: Asked, peer: Peer): Fault | undefined {
    const { faults } = this.deps
    if (faults.idle) return undefined
    const { type, xid, vendorClass } = asked
    return faults.decide({
      server: 'dhcp',
      peer,
      device: { mac: asked.mac },
      fields: { messageType: type, xid, ...(vendorClass !== undefined ? { vendorClass } : {}) },
    })?.fault
  }

  /** A lease the file could not keep (a full disk) is still served from memory: warned, never fatal. */
  #saveLease(mac: string, peer: Peer): void {
    try {
      this.#runtime.save(mac)
    } catch (err) {
      this.warnLimited(
        'lease-file',
        { mac, peer: peer.address },
        `dhcp: lease not written: ${(err as Error).message}`,
      )
    }
  }

  #journalSilence(asked: Asked, peer: Peer, why: string, detail: { fault?: string; note?: string }): void {
    const { mac, xid, type } = asked
    this.record('dhcp:reply', {
      summary: `no answer to ${type} from ${mac}${detail.fault !== undefined ? ` (${why})` : `: ${why}`}`,
      detail: { mac, xid, ...detail },
      peer,
      device: { mac },
      peerIsDevice: false,
    })
  }

  /** Journals the reply where it goes, then sends it (RFC 2131 §4.1: relay, unicast or broadcast). */
  #send(
    req: DhcpMessage,
    reply: DhcpReply,
    bytes: Uint8Array,
    rinfo: RemoteInfo,
    about: Asked & { readonly peer: Peer; readonly note: string; readonly fault: string | undefined },
  ): void {
    const { mac, xid, peer, note, fault } = about
    const to = this.#destination(req, reply, rinfo)
    const replyType = messageTypeName(reply.type)
    const acked = reply.type === DhcpMessageType.ACK && reply.yiaddr !== '0.0.0.0'
    const offered = reply.yiaddr !== '0.0.0.0' ? `${reply.yiaddr} ` : ''
    this.record('dhcp:reply', {
      summary: `${replyType} ${offered}to ${mac} → ${to.address}:${to.port}${fault ? ` (fault ${fault})` : ''}`,
      detail: {
        type: replyType,
        mac,
        xid,
        yiaddr: reply.yiaddr,
        to: `${to.address}:${to.port}`,
        options: describeOptions(reply.options),
        note,
        ...(fault ? { fault } : {}),
      },
      peer,
      device: acked ? { mac, ip: reply.yiaddr } : { mac },
      peerIsDevice: false,
    })
    const out = to.address === '255.255.255.255' && this.#sender ? this.#sender : this.#socket
    if (this.listening && out)
      this.sendDatagram(out, bytes, to, {
        from: { address: this.#serverId, port: this.#port },
        device: { mac },
      })
  }

  /** Where the reply goes; in loopback mode there is no broadcast domain, so a broadcast goes back to the sender. */
  #destination(req: DhcpMessage, reply: DhcpReply, rinfo: RemoteInfo): { address: string; port: number } {
    const target = replyTarget(req, reply, this.#sender ? '255.255.255.255' : this.#broadcast)
    const bound = this.#port
    if (target.toRelay) return { address: target.address, port: bound }
    if (this.#loopback) return { address: rinfo.address, port: rinfo.port }
    return { address: target.address, port: bound + 1 }
  }
}

/** What a request is named by in the journal events of its exchange. */
interface Asked {
  readonly mac: string
  readonly type: string
  readonly xid: string
  readonly vendorClass: string | undefined
}
