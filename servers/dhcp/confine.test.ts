import type { NetworkInterfaceInfo } from 'node:os'
import { describe, expect, it } from 'vitest'
import { confinedInterface } from './server.js'

/* DHCP safety decided on a table of links, so it holds whatever namespace the tests run in. */
const link = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: internal ? '00:00:00:00:00:00' : '00:04:f2:00:00:01',
  internal,
  cidr: `${address}/24`,
})
const lo = link('127.0.0.1', true)

describe('the link DHCP may answer on', () => {
  it('is the named one when it is the only link besides loopback, with its broadcast address', () => {
    expect(confinedInterface('veth-lab', { lo: [lo], 'veth-lab': [link('10.50.0.1')] })).toEqual({
      address: '10.50.0.1',
      broadcast: '10.50.0.255',
      netmask: '255.255.255.0',
    })
  })

  it('is refused when another link is visible, naming it', () => {
    expect(() =>
      confinedInterface('veth-lab', { lo: [lo], 'veth-lab': [link('10.50.0.1')], eth0: [link('192.0.2.7')] }),
    ).toThrow(
      expect.objectContaining({ code: 'LAB_ERR_DHCP_UNSAFE', message: expect.stringContaining('eth0') }),
    )
  })

  it('tolerates a pod’s cluster link the scenario names (clusterLinks), and only that one', () => {
    const table = {
      lo: [lo],
      net1: [link('10.50.0.1')],
      eth0: [link('10.244.1.7')],
      eth2: [link('192.0.2.9')],
    }
    const { eth2: _eth2, ...pod } = table
    expect(confinedInterface('net1', pod, ['eth0'])).toMatchObject({ address: '10.50.0.1' })
    expect(() => confinedInterface('net1', table, ['eth0'])).toThrow(
      expect.objectContaining({ code: 'LAB_ERR_DHCP_UNSAFE', message: expect.stringContaining('eth2') }),
    )
  })

  it('is refused when the named link has no IPv4 address, loopback-only namespaces included', () => {
    for (const table of [{ lo: [lo] }, { lo: [lo], 'veth-lab': [] }])
      expect(() => confinedInterface('veth-lab', table)).toThrow(
        expect.objectContaining({ code: 'LAB_ERR_DHCP_UNSAFE', message: expect.stringContaining('no IPv4') }),
      )
  })
})
