import { describe, expect, it } from 'vitest'
import type { DnsRecord } from '../servers/dns/codec.js'
import { srvOrder } from './dns.js'

const base = { name: '_ldap._tcp.dc._msdcs.corp.contoso.test', class: 1, ttl: 600 }
const srv = (target: string, priority: number, weight: number): DnsRecord => ({
  ...base,
  type: 'SRV',
  priority,
  weight,
  port: 389,
  target: `${target}.`,
})

describe('the phone’s SRV order', () => {
  it('takes the lowest priority first, then the heaviest weight — RFC 2782, not the order returned', () => {
    const answer: DnsRecord[] = [
      srv('dc3', 10, 100),
      srv('dc2', 0, 10),
      { ...base, type: 'A', address: '10.50.0.1' },
      srv('dc1', 0, 90),
    ]
    expect(srvOrder(answer)).toEqual([
      { target: 'dc1', port: 389 },
      { target: 'dc2', port: 389 },
      { target: 'dc3', port: 389 },
    ])
  })
})
