import {
  DNS_CLASS_IN,
  DnsRcode,
  DnsType,
  recordType,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  type Edns,
} from './codec.js'
import { lower, type ZoneData } from './zone.js'

/** What the DNS behaviour decides, before a response message is assembled. */
export interface DnsAnswer {
  readonly rcode: number
  readonly aa: boolean
  readonly answers: readonly DnsRecord[]
  readonly authorities: readonly DnsRecord[]
  readonly additionals: readonly DnsRecord[]
}

export interface DnsPolicy {
  readonly outOfZone: 'refused' | 'nxdomain'
}

const CLASS_ANY = 255
const MAX_CNAME_CHAIN = 8

function zoneOf(zone: ZoneData, name: string): string | undefined {
  for (const z of zone.zones) if (name === z || name.endsWith(`.${z}`)) return z
  return undefined
}

function soaOf(zone: ZoneData, apex: string): DnsRecord {
  return {
    name: apex,
    class: DNS_CLASS_IN,
    ttl: zone.ttl,
    type: 'SOA',
    mname: zone.hostname,
    rname: zone.admin,
    serial: 1,
    refresh: 900,
    retry: 600,
    expire: 86400,
    minimum: zone.ttl,
  }
}

function nsOf(zone: ZoneData, apex: string): DnsRecord {
  return { name: apex, class: DNS_CLASS_IN, ttl: zone.ttl, type: 'NS', target: zone.hostname }
}

/** The records at a name: its own, or those of a `*.` wildcard one level up (RFC 4592, simplified). */
function recordsAt(zone: ZoneData, name: string): readonly DnsRecord[] | undefined {
  const own = zone.byName.get(name)
  if (own) return own
  if (zone.parents.has(name)) return undefined
  const dot = name.indexOf('.')
  if (dot < 0) return undefined
  const wild = zone.byName.get(`*.${name.slice(dot + 1)}`)
  return wild?.map((r) => ({ ...r, name }))
}

/**
 * Answers one question from the zone data, pure: authoritative data, CNAME chains within the lab's zones,
 * NXDOMAIN vs NODATA (SOA in the authority section for both), SOA and NS at each apex, glue addresses for
 * SRV/NS/MX targets, REFUSED (or NXDOMAIN, by policy) outside every lab zone.
 */
export function resolveDns(question: DnsQuestion, zone: ZoneData, policy: DnsPolicy): DnsAnswer {
  const empty = { answers: [], authorities: [], additionals: [] }
  if (question.class !== DNS_CLASS_IN && question.class !== CLASS_ANY)
    return { rcode: DnsRcode.REFUSED, aa: false, ...empty }
  let name = lower(question.name)
  const apex = zoneOf(zone, name)
  if (apex === undefined) {
    return {
      rcode: policy.outOfZone === 'nxdomain' ? DnsRcode.NXDOMAIN : DnsRcode.REFUSED,
      aa: false,
      ...empty,
    }
  }
  const answers: DnsRecord[] = []
  let currentApex = apex
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const here = [...(recordsAt(zone, name) ?? [])]
    if (name === currentApex) here.push(soaOf(zone, currentApex), nsOf(zone, currentApex))
    const wanted = here.filter((r) => question.type === DnsType.ANY || recordType(r) === question.type)
    if (wanted.length > 0) {
      answers.push(...wanted)
      return { rcode: DnsRcode.NOERROR, aa: true, answers, authorities: [], additionals: glue(zone, wanted) }
    }
    const cname = here.find((r) => r.type === 'CNAME')
    if (cname && cname.type === 'CNAME' && question.type !== DnsType.CNAME) {
      answers.push(cname)
      const nextApex = zoneOf(zone, cname.target)
      // A target outside the lab's zones ends the chain: the client resolves it elsewhere.
      if (nextApex === undefined)
        return { rcode: DnsRcode.NOERROR, aa: true, answers, authorities: [], additionals: [] }
      name = cname.target
      currentApex = nextApex
      continue
    }
    const exists = here.length > 0 || zone.parents.has(name)
    return {
      rcode: exists || answers.length > 0 ? DnsRcode.NOERROR : DnsRcode.NXDOMAIN,
      aa: true,
      answers,
      authorities: [soaOf(zone, currentApex)],
      additionals: [],
    }
  }
  return { rcode: DnsRcode.SERVFAIL, aa: false, ...empty } // a CNAME loop
}

function glue(zone: ZoneData, records: readonly DnsRecord[]): DnsRecord[] {
  const out: DnsRecord[] = []
  const seen = new Set<string>()
  for (const r of records) {
    const target = r.type === 'SRV' || r.type === 'NS' ? r.target : r.type === 'MX' ? r.exchange : undefined
    if (target === undefined || seen.has(target)) continue
    seen.add(target)
    for (const g of zone.byName.get(target) ?? []) if (g.type === 'A' || g.type === 'AAAA') out.push(g)
  }
  return out
}

/** What a wrong-but-well-formed answer changes (the `answer` fault), applied to the answer section. */
export function alterAnswers(
  records: readonly DnsRecord[],
  set: Readonly<Record<string, string | number | boolean>>,
): DnsRecord[] {
  return records.map((r) => {
    const ttl = typeof set.ttl === 'number' ? set.ttl : r.ttl
    switch (r.type) {
      case 'A':
        return { ...r, ttl, address: typeof set.address === 'string' ? set.address : r.address }
      case 'SRV':
        return {
          ...r,
          ttl,
          priority: typeof set.priority === 'number' ? set.priority : r.priority,
          weight: typeof set.weight === 'number' ? set.weight : r.weight,
          port: typeof set.port === 'number' ? set.port : r.port,
          target: typeof set.target === 'string' ? lower(set.target) : r.target,
        }
      case 'CNAME':
      case 'PTR':
        return { ...r, ttl, target: typeof set.target === 'string' ? lower(set.target) : r.target }
      case 'AAAA':
      case 'NS':
      case 'MX':
      case 'SOA':
      case 'TXT':
      case 'RAW':
        return { ...r, ttl }
    }
  })
}

/** The response to a query: id, RD and the question echoed, our OPT when the query had one (RFC 6891 §7). */
export function responseTo(
  query: DnsMessage,
  answer: DnsAnswer,
  ourUdpSize: number,
  extra: { tc?: boolean } = {},
): DnsMessage {
  const edns: Edns | undefined = query.edns
    ? { udpSize: ourUdpSize, extendedRcode: 0, version: 0, dnssecOk: false, options: [] }
    : undefined
  return {
    id: query.id,
    qr: true,
    opcode: query.opcode,
    aa: answer.aa,
    tc: extra.tc ?? false,
    rd: query.rd,
    ra: false,
    ad: false,
    cd: query.cd,
    rcode: answer.rcode,
    questions: query.questions,
    answers: extra.tc ? [] : answer.answers,
    authorities: extra.tc ? [] : answer.authorities,
    additionals: extra.tc ? [] : answer.additionals,
    ...(edns ? { edns } : {}),
  }
}

/**
 * Checks a decoded query before it is answered: a response or an unknown opcode is not something to look
 * up. Returns the rcode to answer with instead, or undefined when the query can be resolved.
 */
export function queryProblem(query: DnsMessage): number | undefined {
  if (query.opcode !== 0) return DnsRcode.NOTIMP
  if (query.questions.length !== 1) return DnsRcode.FORMERR
  if (query.answers.length > 0 || query.authorities.length > 0) return DnsRcode.FORMERR
  if (query.edns && query.edns.version > 0) return DnsRcode.BADVERS
  const t = query.questions[0]!.type
  if (t === DnsType.OPT || t === 251 || t === 252) return DnsRcode.NOTIMP // OPT, IXFR, AXFR
  return undefined
}

/** The UDP size limit for a query's answer (RFC 1035 512 octets; RFC 6891 the requestor's size, capped by ours). */
export function udpLimit(query: DnsMessage, ourUdpSize: number): number {
  if (!query.edns) return 512
  return Math.min(Math.max(query.edns.udpSize, 512), ourUdpSize)
}
