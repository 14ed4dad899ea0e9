import { describe, expect, it } from 'vitest'
import { offLink, type NamedLink } from './link.js'

describe('offLink: did a datagram come over the named link?', () => {
  const link: NamedLink = {
    address: '10.50.0.1',
    netmask: '255.255.255.0',
    own: new Set(['10.50.0.1', '192.0.2.7']),
  }

  it('takes a client with no address yet, and devices and relays on the link', () => {
    expect(offLink('0.0.0.0', link)).toBeUndefined()
    expect(offLink('10.50.0.100', link)).toBeUndefined()
  })

  it('refuses loopback, the host itself and other subnets', () => {
    expect(offLink('127.0.0.1', link)).toContain('loopback')
    expect(offLink('10.50.0.1', link)).toContain("this host's own address")
    expect(offLink('192.0.2.7', link)).toContain("this host's own address")
    expect(offLink('10.51.0.9', link)).toContain("not on the named link's subnet")
  })
})
