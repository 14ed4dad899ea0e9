import { describe, expect, it } from 'vitest'
import { loadScenario } from '../../lab/scenario/load.js'
import { Registrations, answerNbns, scenarioNames, type NbnsContext } from './behaviour.js'
import { NbOpcode, NbRcode, NbType, decodeNbAddresses, encodeNbAddresses, type NbPacket } from './codec.js'

const scenario = loadScenario(
  't.yaml',
  `version: 1
name: t
site: { sipDomain: contoso.test, adDomain: corp.contoso.test, subnet: 10.50.0.0/24 }
servers: { netbios: { enabled: true } }
`,
)
const ctx = (over: Partial<NbnsContext> = {}): NbnsContext => ({
  block: scenario.servers.netbios,
  names: scenarioNames(scenario.site, scenario.hosts),
  registrations: new Registrations(),
  nowMs: 1_000_000,
  ...over,
})
const FLAGS = { aa: false, tc: false, rd: true, ra: false, broadcast: false }
const query = (name: string, suffix: number, flags: Partial<NbPacket['flags']> = {}): NbPacket => ({
  id: 7,
  response: false,
  opcode: NbOpcode.query,
  flags: { ...FLAGS, ...flags },
  rcode: 0,
  questions: [{ name: { name, suffix, scope: '' }, type: NbType.NB, class: 1 }],
  answers: [],
  authority: [],
  additional: [],
})
const registration = (name: string, address: string, opcode: number = NbOpcode.registration): NbPacket => ({
  ...query(name, 0x00),
  opcode,
  additional: [
    {
      name: { name, suffix: 0x00, scope: '' },
      type: NbType.NB,
      class: 1,
      ttl: 300_000,
      data: encodeNbAddresses([{ group: false, ont: 3, address }]),
    },
  ],
})
const addresses = (p: NbPacket): string[] => decodeNbAddresses(p.answers[0]!.data).map((o) => o.address)
const packet = (o: ReturnType<typeof answerNbns>): NbPacket => {
  if (o.action !== 'reply') throw new Error(`ignored: ${o.reason}`)
  return o.packet
}

describe('WINS double: the names a Windows domain holds', () => {
  it('answers the domain’s <1C> (domain controllers, a group) and <1B>, and each server’s <00>/<20>', () => {
    const dc = scenario.hosts.find((h) => h.roles.includes('dc'))!
    const c = ctx()
    const dcs = packet(answerNbns(query('CORP', 0x1c), c, '10.50.0.20'))
    expect(dcs).toMatchObject({ id: 7, response: true, rcode: 0, flags: { aa: true, rd: true, ra: true } })
    expect(dcs.answers[0]).toMatchObject({ type: NbType.NB, ttl: 518_400 })
    expect(decodeNbAddresses(dcs.answers[0]!.data)).toEqual([{ group: true, ont: 3, address: dc.address }])
    expect(addresses(packet(answerNbns(query('CORP', 0x1b), c, '10.50.0.20')))).toEqual([dc.address])
    const short = dc.name.split('.')[0]!.toUpperCase()
    expect(addresses(packet(answerNbns(query(short, 0x20), c, '10.50.0.20')))).toEqual([dc.address])
    // Names are case-insensitive, as NetBIOS names are upper-cased by every client.
    expect(packet(answerNbns(query('corp', 0x1c), c, '10.50.0.20')).rcode).toBe(0)
  })

  it('answers an unknown name NAM_ERR with a NULL record (RFC 1002 §4.2.14)', () => {
    const p = packet(answerNbns(query('NOSUCH', 0x1c), ctx(), '10.50.0.20'))
    expect(p.rcode).toBe(NbRcode.NAM_ERR)
    expect(p.answers[0]).toMatchObject({ type: NbType.NULL, ttl: 0, name: { name: 'NOSUCH' } })
  })

  it('answers a broadcast only for names the lab owns, and stays silent otherwise', () => {
    expect(answerNbns(query('CORP', 0x1c, { broadcast: true }), ctx(), '10.50.0.20').action).toBe('reply')
    expect(answerNbns(query('OTHER', 0x00, { broadcast: true }), ctx(), '10.50.0.20').action).toBe('ignore')
  })

  it('grants a device’s registration, answers it to queries, refuses a DC’s unique name, releases', () => {
    const c = ctx()
    const granted = packet(answerNbns(registration('CX700-0001', '10.50.0.20'), c, '10.50.0.20'))
    expect(granted).toMatchObject({ rcode: 0, opcode: NbOpcode.registration })
    expect(granted.answers[0]?.ttl).toBe(518_400)
    expect(addresses(packet(answerNbns(query('CX700-0001', 0x00), c, '10.50.0.21')))).toEqual(['10.50.0.20'])
    const dcName = scenario.hosts
      .find((h) => h.roles.includes('dc'))!
      .name.split('.')[0]!
      .toUpperCase()
    expect(packet(answerNbns(registration(dcName, '10.50.0.20'), c, '10.50.0.20')).rcode).toBe(
      NbRcode.ACT_ERR,
    )
    packet(answerNbns(registration('CX700-0001', '10.50.0.20', NbOpcode.release), c, '10.50.0.20'))
    expect(packet(answerNbns(query('CX700-0001', 0x00), c, '10.50.0.21')).rcode).toBe(NbRcode.NAM_ERR)
  })

  it('forgets a registration when its TTL runs out in lab time, and refuses them when told to', () => {
    const c = ctx()
    packet(answerNbns(registration('PHONE', '10.50.0.20'), c, '10.50.0.20'))
    const later = { ...c, nowMs: c.nowMs + 518_400_000 + 1 }
    expect(packet(answerNbns(query('PHONE', 0x00), later, '10.50.0.21')).rcode).toBe(NbRcode.NAM_ERR)
    const refusing = ctx({ block: { ...scenario.servers.netbios, registrations: false } })
    expect(packet(answerNbns(registration('PHONE', '10.50.0.20'), refusing, '10.50.0.20')).rcode).toBe(
      NbRcode.RFS_ERR,
    )
  })

  it('answers a fault’s error code, and IMP_ERR for an opcode a WINS server does not take', () => {
    expect(packet(answerNbns(query('CORP', 0x1c), ctx(), '10.50.0.20', 'SRV_ERR')).rcode).toBe(
      NbRcode.SRV_ERR,
    )
    expect(packet(answerNbns({ ...query('CORP', 0x1c), opcode: 3 }, ctx(), '10.50.0.20')).rcode).toBe(
      NbRcode.IMP_ERR,
    )
  })
})
