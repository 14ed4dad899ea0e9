import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import { DhcpMessageType, Opt, clientMessage, ipBytes, readIps, readU32, type DhcpMessage } from './codec.js'
import {
  LeaseTable,
  answerDhcp,
  decideDhcp,
  intToIp,
  ipToInt,
  replyMessage,
  replyTarget,
} from './behaviour.js'
import { planFor } from './server.js'

function plan(extra = '') {
  const s = loadScenario(
    't.yaml',
    `version: 1
name: t
site: { sipDomain: contoso.test, adDomain: corp.contoso.test, searchList: [corp.contoso.test, contoso.test] }
servers:
  dhcp:
    pool: { start: 10.50.0.100, end: 10.50.0.102 }
    leaseTime: 2h
    reservations: [{ mac: 00:04:f2:00:00:99, address: 10.50.0.50 }]
${extra}`,
  )
  return planFor({ block: s.servers.dhcp, site: s.site, hosts: s.hosts, network: s.network }, '10.50.0.1')
}

let xid = 1
const msg = (
  type: number,
  mac: string,
  options: [number, Uint8Array][] = [],
  over: Partial<DhcpMessage> = {},
): DhcpMessage => clientMessage(type, mac, options, { xid: xid++, ...over })
const PHONE = '00:04:f2:aa:bb:01'
const NOW = 1_000_000

describe('DHCP decisions (RFC 2131 §4.3)', () => {
  it('DISCOVER → OFFER, REQUEST → ACK with lease, T1 = ½, T2 = ⅞, and the lab’s options', () => {
    const p = plan()
    const leases = new LeaseTable()
    const offer = decideDhcp(p, leases, msg(DhcpMessageType.DISCOVER, PHONE), NOW).reply!
    expect(offer).toMatchObject({ type: DhcpMessageType.OFFER, yiaddr: '10.50.0.100' })
    const ack = decideDhcp(
      p,
      leases,
      msg(DhcpMessageType.REQUEST, PHONE, [
        [Opt.requestedAddress, ipBytes('10.50.0.100')],
        [Opt.serverId, ipBytes('10.50.0.1')],
      ]),
      NOW,
    ).reply!
    expect(ack.type).toBe(DhcpMessageType.ACK)
    expect([
      readU32(ack.options.get(Opt.leaseTime)),
      readU32(ack.options.get(Opt.renewalTime)),
      readU32(ack.options.get(Opt.rebindingTime)),
    ]).toEqual([7200, 3600, 6300])
    expect(Buffer.from(ack.options.get(Opt.domainName)!).toString()).toBe('corp.contoso.test')
    expect(Buffer.from(ack.options.get(Opt.domainSearch)!).toString()).toBe('corp.contoso.test;contoso.test')
    expect(readIps(ack.options.get(Opt.dns))).toEqual(['10.50.0.1'])
    expect(leases.ofMac(PHONE)).toMatchObject({
      address: '10.50.0.100',
      state: 'bound',
      expires: NOW + 7_200_000,
    })
  })

  it('gives a reserved MAC its address, the same client its lease again, and the next client the next address', () => {
    const p = plan()
    const leases = new LeaseTable()
    expect(decideDhcp(p, leases, msg(1, '00:04:f2:00:00:99'), NOW).reply?.yiaddr).toBe('10.50.0.50')
    decideDhcp(p, leases, msg(1, PHONE), NOW)
    expect(decideDhcp(p, leases, msg(1, PHONE), NOW).reply?.yiaddr).toBe('10.50.0.100')
    expect(decideDhcp(p, leases, msg(1, '00:04:f2:aa:bb:02'), NOW).reply?.yiaddr).toBe('10.50.0.101')
  })

  it('NAKs a REQUEST for a wrong address, stays silent when the client chose another server', () => {
    const p = plan()
    const leases = new LeaseTable()
    decideDhcp(p, leases, msg(1, PHONE), NOW)
    const nak = decideDhcp(p, leases, msg(3, PHONE, [[Opt.requestedAddress, ipBytes('10.50.0.200')]]), NOW)
    expect(nak.reply?.type).toBe(DhcpMessageType.NAK)
    expect(Buffer.from(nak.reply!.options.get(Opt.message)!).toString()).toContain(
      '10.50.0.200 is not the address for',
    )
    const other = decideDhcp(
      p,
      leases,
      msg(3, PHONE, [
        [Opt.serverId, ipBytes('10.50.0.9')],
        [Opt.requestedAddress, ipBytes('10.50.0.100')],
      ]),
      NOW,
    )
    expect(other).toEqual({ note: 'the client chose server 10.50.0.9' })
    expect(leases.ofMac(PHONE)).toBeUndefined()
  })

  it('renews by ciaddr, answers INFORM without a lease, frees on RELEASE, holds back a DECLINEd address', () => {
    const p = plan()
    const leases = new LeaseTable()
    decideDhcp(p, leases, msg(3, PHONE, [[Opt.requestedAddress, ipBytes('10.50.0.100')]]), NOW)
    expect(decideDhcp(p, leases, msg(3, PHONE, [], { ciaddr: '10.50.0.100' }), NOW).reply?.type).toBe(
      DhcpMessageType.ACK,
    )
    const inform = decideDhcp(p, leases, msg(8, PHONE, [], { ciaddr: '10.50.0.100' }), NOW).reply!
    expect(inform.yiaddr).toBe('0.0.0.0')
    expect(inform.options.has(Opt.leaseTime)).toBe(false)
    decideDhcp(p, leases, msg(7, PHONE, [], { ciaddr: '10.50.0.100' }), NOW)
    expect(leases.ofMac(PHONE)).toBeUndefined()
    decideDhcp(p, leases, msg(4, PHONE, [[Opt.requestedAddress, ipBytes('10.50.0.100')]]), NOW)
    expect(decideDhcp(p, leases, msg(1, PHONE), NOW).reply?.yiaddr).toBe('10.50.0.101')
  })

  it('answers only the allow-list (Polycom’s OUI by default), and says when the pool is exhausted', () => {
    const p = plan()
    const leases = new LeaseTable()
    expect(decideDhcp(p, leases, msg(1, '3c:22:fb:00:00:01'), NOW)).toEqual({
      note: '3c:22:fb:00:00:01 is not in the allow-list (00:04:f2)',
    })
    const any = plan('    allow: [any]\n')
    for (const m of ['01', '02', '03']) decideDhcp(any, leases, msg(1, `3c:22:fb:00:00:${m}`), NOW)
    expect(decideDhcp(any, leases, msg(1, '3c:22:fb:00:00:04'), NOW)).toEqual({
      note: 'the pool is exhausted',
    })
    expect(decideDhcp(any, leases, msg(1, '3c:22:fb:00:00:04'), NOW + 120_000).reply?.yiaddr).toBe(
      '10.50.0.100',
    ) // offers expire
  })

  it('sends only what option 55 asks for (plus the lease options), or everything when told to', () => {
    const ask = [[Opt.parameterList, Uint8Array.of(1, 3, 15)]] as [number, Uint8Array][]
    const keys = (p: ReturnType<typeof plan>) =>
      [...decideDhcp(p, new LeaseTable(), msg(1, PHONE, ask), NOW).reply!.options.keys()].sort(
        (a, b) => a - b,
      )
    expect(keys(plan())).toEqual([1, 3, 15, 51, 53, 54, 58, 59])
    expect(keys(plan('    honourParameterList: false\n'))).toEqual([1, 3, 6, 15, 51, 53, 54, 58, 59, 119])
  })

  it('sends option 119 as RFC 3397 labels, leaves 15/119 out, and adds raw options, as the scenario says', () => {
    const p = plan(
      '    searchListEncoding: rfc3397\n    domainName: ""\n    options: [{ code: 252, text: "http://wpad/wpad.dat" }, { code: 119, hex: "ff00" }]\n',
    )
    const offer = decideDhcp(p, new LeaseTable(), msg(1, PHONE), NOW).reply!
    expect(offer.options.has(Opt.domainName)).toBe(false)
    expect(Buffer.from(offer.options.get(119)!).toString('hex')).toBe('ff00') // a deliberately malformed 119
    expect(Buffer.from(offer.options.get(252)!).toString()).toBe('http://wpad/wpad.dat')
    const rfc = plan('    searchListEncoding: rfc3397\n')
    expect(
      Buffer.from(decideDhcp(rfc, new LeaseTable(), msg(1, PHONE), NOW).reply!.options.get(119)!).toString(
        'hex',
      ),
    ).toBe('04636f727007636f6e746f736f047465737400c005')
  })

  it('replies to the relay, to ciaddr, or by broadcast (RFC 2131 §4.1)', () => {
    const offer = { type: DhcpMessageType.OFFER, yiaddr: '10.50.0.100', options: new Map() }
    const nak = { ...offer, type: DhcpMessageType.NAK }
    expect(replyTarget(msg(1, PHONE, [], { giaddr: '10.9.0.1' }), offer, '10.50.0.255')).toEqual({
      address: '10.9.0.1',
      toRelay: true,
    })
    expect(replyTarget(msg(3, PHONE, [], { ciaddr: '10.50.0.100' }), offer, '10.50.0.255')).toEqual({
      address: '10.50.0.100',
      toRelay: false,
    })
    expect(replyTarget(msg(3, PHONE, [], { ciaddr: '10.50.0.100' }), nak, '10.50.0.255')).toEqual({
      address: '10.50.0.255',
      toRelay: false,
    })
    expect(replyTarget(msg(1, PHONE), offer, '10.50.0.255')).toEqual({
      address: '10.50.0.255',
      toRelay: false,
    })
  })
})

describe('the whole answer, a fault’s included', () => {
  it('NAKs for an error fault, changes the fields an answer fault names, and stays silent where no answer was due', () => {
    const p = plan()
    const nak = answerDhcp(p, new LeaseTable(), msg(DhcpMessageType.DISCOVER, PHONE), NOW, {
      kind: 'error',
      code: 'NAK',
    }).reply!
    expect(nak.type).toBe(DhcpMessageType.NAK)
    expect(readIps(nak.options.get(Opt.serverId))).toEqual(['10.50.0.1'])
    const altered = answerDhcp(p, new LeaseTable(), msg(DhcpMessageType.DISCOVER, PHONE), NOW, {
      kind: 'answer',
      set: { domainName: 'wrong.test', yiaddr: '10.50.0.7', dns: '' },
    }).reply!
    expect(altered.yiaddr).toBe('10.50.0.7')
    expect(Buffer.from(altered.options.get(Opt.domainName)!).toString()).toBe('wrong.test')
    expect(altered.options.has(Opt.dns)).toBe(false)
    const outsider = msg(DhcpMessageType.DISCOVER, '3c:22:fb:00:00:01')
    expect(
      answerDhcp(p, new LeaseTable(), outsider, NOW, { kind: 'error', code: 'NAK' }).reply,
    ).toBeUndefined()
  })

  it('frames the reply in the request: op 2, its xid, flags, relay and chaddr; a NAK clears ciaddr', () => {
    const req = msg(DhcpMessageType.REQUEST, PHONE, [], {
      ciaddr: '10.50.0.100',
      giaddr: '10.9.0.1',
      flags: 0x8000,
    })
    const nak = answerDhcp(plan(), new LeaseTable(), req, NOW, { kind: 'error', code: 'NAK' }).reply!
    expect(replyMessage(req, nak)).toMatchObject({
      op: 2,
      xid: req.xid,
      flags: 0x8000,
      giaddr: '10.9.0.1',
      ciaddr: '0.0.0.0',
      chaddr: req.chaddr,
      yiaddr: '0.0.0.0',
    })
  })
})

describe('LeaseTable.firstFree', () => {
  const START = ipToInt('10.9.0.1')
  const END = START + 40
  /** What the search must find: the lowest address, walked from the start each time. */
  const naive = (t: LeaseTable, now: number, skip: (a: string) => boolean): string | undefined => {
    for (let n = START; n <= END; n++) {
      const a = intToIp(n)
      if (!skip(a) && !t.holder(a, now)) return a
    }
    return undefined
  }

  it('finds an address released below where the last search stopped', () => {
    const t = new LeaseTable()
    const owner = {}
    const take = (mac: string): string => {
      const a = t.firstFree(owner, START, END, 0, () => false)!
      t.set({ mac, address: a, expires: 100, state: 'bound' })
      return a
    }
    const first = take('00:04:f2:00:00:01')
    take('00:04:f2:00:00:02')
    t.release('00:04:f2:00:00:01')
    expect(take('00:04:f2:00:00:03')).toBe(first)
  })

  it('finds what a walk from the start finds, across offers, moves, releases, expiry and a new pool', () => {
    const ttl = fc.integer({ min: 1, max: 3_000 })
    const op = fc.oneof(
      fc.record({ kind: fc.constant('take' as const), mac: fc.nat(60), ttl }),
      fc.record({ kind: fc.constant('move' as const), mac: fc.nat(60), offset: fc.nat(40), ttl }),
      fc.record({ kind: fc.constant('release' as const), mac: fc.nat(60) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.nat(200) }),
      fc.record({ kind: fc.constant('pool' as const) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const t = new LeaseTable()
        let owner = {}
        let now = 1_000
        const skip = (a: string): boolean => a.endsWith('.7')
        const mac = (i: number): string => `00:04:f2:00:00:${i.toString(16).padStart(2, '0')}`
        for (const o of ops) {
          if (o.kind === 'take') {
            const a = t.firstFree(owner, START, END, now, skip)
            expect(a).toBe(naive(t, now, skip))
            if (a) t.set({ mac: mac(o.mac), address: a, expires: now + o.ttl, state: 'offered' })
          } else if (o.kind === 'move') {
            t.set({
              mac: mac(o.mac),
              address: intToIp(START + o.offset),
              expires: now + o.ttl,
              state: 'bound',
            })
          } else if (o.kind === 'release') t.release(mac(o.mac))
          else if (o.kind === 'wait') now += o.ms
          else owner = {}
        }
        expect(t.firstFree(owner, START, END, now, skip)).toBe(naive(t, now, skip))
      }),
      { numRuns: 300 },
    )
  })
})
