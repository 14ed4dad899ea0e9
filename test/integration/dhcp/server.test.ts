import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Lab } from '../../../lab/runtime.js'
import { testLogger } from '../../../core/logger.js'
import { loadScenario } from '../../../lab/scenario/load.js'
import { DhcpMessageType, Opt, ipBytes } from '../../../servers/dhcp/codec.js'
import { dhcpClient, dhcpMessage } from '../../helpers/dhcp-client.js'
import { MINIMAL_SCENARIO, startTestLab } from '../../helpers/lab.js'

const PHONE = '00:04:f2:10:20:30'

describe('DHCP server on loopback', () => {
  it('leases an address (DORA), journals each message with the MAC, and ties the MAC to the address', async () => {
    await using t = await startTestLab()
    await using c = await dhcpClient(t.port('dhcp'))
    const { offer, ack } = await c.dora(PHONE)
    expect(offer.yiaddr).toBe('10.50.0.100')
    expect(ack.options.get(Opt.messageType)?.[0]).toBe(DhcpMessageType.ACK)
    expect(Buffer.from(ack.options.get(Opt.domainName)!).toString()).toBe('contoso.test')
    const kinds = t.lab.journal.query({ server: 'dhcp' }).map((e) => `${e.kind} ${String(e.detail.type)}`)
    expect(kinds).toEqual([
      'dhcp:request DISCOVER',
      'dhcp:reply OFFER',
      'dhcp:request REQUEST',
      'dhcp:reply ACK',
    ])
    expect(t.lab.journal.devices.list()).toContainEqual({ mac: PHONE, ip: '10.50.0.100' })
    expect(t.lab.journal.query({ device: PHONE }).length).toBe(4)
  })

  it('answers a relay agent at giaddr on the server port (RFC 2131 §4.1)', async () => {
    await using t = await startTestLab()
    const port = t.port('dhcp')
    await using relay = await dhcpClient(port, '127.0.0.2', port)
    const offer = await relay.ask(dhcpMessage(1, PHONE, [], { giaddr: '127.0.0.2', hops: 1 }))
    expect(offer?.giaddr).toBe('127.0.0.2')
    expect(t.lab.journal.query({ kind: 'dhcp:reply' })[0]?.detail.to).toBe(`127.0.0.2:${port}`)
  })

  it('NAKs a request for an address that is not the client’s', async () => {
    await using t = await startTestLab()
    await using c = await dhcpClient(t.port('dhcp'))
    const nak = await c.ask(dhcpMessage(3, PHONE, [[Opt.requestedAddress, ipBytes('10.50.0.250')]]))
    expect(nak?.options.get(Opt.messageType)?.[0]).toBe(DhcpMessageType.NAK)
    expect(nak?.yiaddr).toBe('0.0.0.0')
  })

  it('is silent for MACs outside the allow-list and for garbage, and keeps serving', async () => {
    await using t = await startTestLab()
    await using c = await dhcpClient(t.port('dhcp'))
    expect(await c.ask(dhcpMessage(1, '3c:22:fb:00:00:01'), 300)).toBeUndefined()
    c.socket.send(Buffer.from('not dhcp at all'), t.port('dhcp'), '127.0.0.1')
    expect((await c.dora(PHONE)).ack.yiaddr).toBe('10.50.0.100')
    expect(t.lab.journal.query({ kind: 'dhcp:malformed' })).toHaveLength(1)
    expect(t.lab.journal.query({ kind: 'dhcp:reply' })[0]?.summary).toContain('is not in the allow-list')
  })

  it('keeps leases across a lab restart (the state directory)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx700-dhcp-'))
    try {
      const start = async () => {
        const lab = new Lab({
          scenario: loadScenario(join(dir, 's.yaml'), MINIMAL_SCENARIO, dir),
          logger: testLogger(),
          stateDir: join(dir, 'state'),
          ports: 'ephemeral',
        })
        await lab.start()
        return lab
      }
      const first = await start()
      const port = first.endpoints().find((e) => e.server === 'dhcp')!.port
      await using c = await dhcpClient(port)
      await c.dora(PHONE)
      await c.dora('00:04:f2:10:20:31')
      await first.stop()
      const second = await start()
      try {
        await using c2 = await dhcpClient(second.endpoints().find((e) => e.server === 'dhcp')!.port)
        expect((await c2.dora('00:04:f2:10:20:31')).ack.yiaddr).toBe('10.50.0.101')
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('DHCP faults', () => {
  it('offer then silence; a NAK; options 15 and 119 left out; a wrong lease time', async () => {
    await using t = await startTestLab()
    await using c = await dhcpClient(t.port('dhcp'))
    await t.client.addFault({
      match: { server: 'dhcp', fields: { messageType: 'REQUEST' } },
      fault: { kind: 'drop' },
      times: 1,
    })
    await expect(c.dora(PHONE)).rejects.toThrow(/no ACK/)
    await t.client.addFault({
      match: { server: 'dhcp', device: PHONE },
      fault: { kind: 'error', code: 'NAK' },
      times: 1,
    })
    const nak = await c.ask(dhcpMessage(1, PHONE))
    expect(nak?.options.get(Opt.messageType)?.[0]).toBe(DhcpMessageType.NAK)
    await t.client.addFault({
      match: { server: 'dhcp' },
      fault: { kind: 'answer', set: { domainName: '', searchList: '', leaseSeconds: 30 } },
      times: 2,
    })
    const { ack } = await c.dora(PHONE)
    expect(ack.options.has(Opt.domainName)).toBe(false)
    expect(ack.options.has(Opt.domainSearch)).toBe(false)
    expect(ack.options.get(Opt.leaseTime)).toEqual(Uint8Array.of(0, 0, 0, 30))
  })
})

describe('DHCP safety outside loopback', () => {
  it('does not serve in netns mode when no interface is named, and says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx700-dhcp-safe-'))
    try {
      const scenario = loadScenario(
        join(dir, 's.yaml'),
        MINIMAL_SCENARIO +
          'servers:\n  dns: { enabled: false }\n  ntp: { enabled: false }\n  kerberos: { enabled: false }\n  ldap: { enabled: false }\n  http: { enabled: false }\n  sip: { enabled: false }\n',
        dir,
      )
      await using lab = new Lab({
        scenario,
        logger: testLogger(),
        stateDir: join(dir, 'state'),
        mode: 'netns',
        ports: 'ephemeral',
      })
      await lab.start()
      expect(lab.endpoints()).toEqual([])
      expect(lab.journal.query({ kind: 'dhcp:disabled' })[0]?.summary).toContain(
        'answers only on a named interface',
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses to start on a link it cannot confine itself to (in any namespace, loopback-only ones too)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx700-dhcp-unsafe-'))
    try {
      const scenario = loadScenario(
        join(dir, 's.yaml'),
        MINIMAL_SCENARIO +
          'servers:\n  dns: { enabled: false }\n  ntp: { enabled: false }\n  ldap: { enabled: false }\n  http: { enabled: false }\n  sip: { enabled: false }\n  dhcp: { interface: cx7-absent }\n',
        dir,
      )
      const lab = new Lab({
        scenario,
        logger: testLogger(),
        stateDir: join(dir, 'state'),
        mode: 'netns',
        ports: 'ephemeral',
      })
      const err = await lab.start().catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'LAB_ERR_DHCP_UNSAFE' })
      expect((err as Error).message).toContain('interface cx7-absent has no IPv4 address here')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
