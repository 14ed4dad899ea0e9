import { describe, expect, it } from 'vitest'
import { SERVER_DEFINITIONS, SERVER_NAMES } from '../servers/index.js'
import { LAB_PORTS, link, privileges } from './preflight.js'
import { replyMac } from './duplicate-address.js'

describe('preflight checks', () => {
  it('reads root, or the two capabilities from CapEff', () => {
    expect(privileges(0, undefined).status).toBe('ok')
    // bits 10 (NET_BIND_SERVICE) and 12 (NET_ADMIN): 0x1400
    expect(privileges(1000, 'Name:\tnode\nCapEff:\t0000000000001400\n').status).toBe('ok')
    expect(privileges(1000, 'CapEff:\t0000000000000400\n')).toEqual({
      name: 'privileges',
      status: 'fail',
      detail: 'missing CAP_NET_ADMIN: run as root, or setcap them on node',
    })
    expect(privileges(1000, undefined).detail).toContain('CAP_NET_BIND_SERVICE and CAP_NET_ADMIN')
  })

  it('fails a missing or down link and a link without the lab address, saying the command that fixes it', () => {
    expect(link('no-such-if0', undefined, undefined)).toMatchObject({
      status: 'fail',
      detail: 'no interface no-such-if0 here (ip link)',
    })
    expect(link('lo', undefined, 'down')).toMatchObject({
      status: 'fail',
      detail: 'lo is down: ip link set lo up',
    })
    expect(link('lo', '10.50.0.1/24', 'unknown')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('ip addr add 10.50.0.1/24 dev lo'),
    })
    expect(link('lo', '127.0.0.1/8', 'unknown').status).toBe('ok')
  })

  it('in interface mode, fails a NIC that holds the lab’s address, where netns mode needs it there', () => {
    // The story `up --mode interface` tells: the lab takes the address on a macvlan of its own.
    expect(link('lo', '127.0.0.1/8', 'unknown', 'interface')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('ip addr del 127.0.0.1/8 dev lo'),
    })
    expect(link('lo', '10.50.0.1/24', 'unknown', 'interface')).toMatchObject({
      status: 'ok',
      detail: 'lo is unknown and leaves 10.50.0.1 to the lab',
    })
    expect(link('lo', '127.0.0.1/8', 'unknown', 'netns').status).toBe('ok')
  })

  it('reads the holder’s MAC from arping’s reply to a duplicate-address probe', () => {
    const out =
      'ARPING 10.50.0.1 from 0.0.0.0 c7m1\nUnicast reply from 10.50.0.1 [00:04:F2:0A:0B:0C]  0.672ms\nSent 1 probes (1 broadcast(s))\nReceived 1 response(s)\n'
    expect(replyMac(out)).toBe('00:04:f2:0a:0b:0c')
    expect(
      replyMac(
        'ARPING 10.50.0.1 from 0.0.0.0 c7m1\nSent 2 probes (2 broadcast(s))\nReceived 0 response(s)\n',
      ),
    ).toBeUndefined()
  })

  it('covers every port the issue names', () => {
    expect(LAB_PORTS.map((p) => p.port)).toEqual(expect.arrayContaining([53, 67, 80, 123, 389, 443, 5061]))
    // Every socket the registry declares, the WINS port and SIP over TCP included (a second list lacked them).
    for (const name of SERVER_NAMES)
      for (const s of SERVER_DEFINITIONS[name].sockets)
        expect(LAB_PORTS, `${name} ${s.name}`).toContainEqual(
          expect.objectContaining({
            port: s.standardPort,
            transport: s.transport,
            what: expect.stringContaining(name),
          }),
        )
    expect(LAB_PORTS).toContainEqual({ port: 137, transport: 'udp', what: 'netbios' })
    expect(LAB_PORTS).toContainEqual({ port: 5060, transport: 'tcp', what: 'sip (sip-tcp)' })
  })
})
