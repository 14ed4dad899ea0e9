import { describe, expect, it } from 'vitest'
import { LabError } from '../../core/errors.js'
import { ADMIN_PORT, Cx700LabContainer, Cx700PhoneContainer, labContainerSpec } from './index.js'

describe('the testcontainers module (definition only: no Docker engine here)', () => {
  it('runs the embedded scenario in netns mode with the admin API behind a token, DHCP off', () => {
    const spec = labContainerSpec({ token: 't0k' })
    expect(spec).toMatchObject({
      image: 'cx700-lab:local',
      command: ['up', '--mode', 'netns', '--admin', `0.0.0.0:${ADMIN_PORT}`],
      environment: { CX700_LAB_TOKEN: 't0k' },
      sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
      exposedPorts: [8700, 53, 389, 3268],
      capabilities: ['NET_BIND_SERVICE'],
      files: [],
      health: { path: '/health', port: 8700 },
    })
    expect(labContainerSpec().token).toMatch(/^[A-Za-z0-9_-]{24}$/)
  })

  it('copies a scenario in and runs it; naming a link turns DHCP on with the capabilities it needs', () => {
    const c = new Cx700LabContainer({ image: 'registry.example/cx700-lab:1', token: 't' })
      .withScenario('version: 1\nname: x\n')
      .withDhcpInterface('eth0')
    const spec = c.spec()
    expect(spec.image).toBe('registry.example/cx700-lab:1')
    expect(spec.command).toEqual([
      'up',
      '/scenarios/scenario.yaml',
      '--mode',
      'netns',
      '--interface',
      'eth0',
      '--admin',
      '0.0.0.0:8700',
    ])
    expect(spec.environment).toEqual({ CX700_LAB_TOKEN: 't' })
    expect(spec.files).toEqual([{ content: 'version: 1\nname: x\n', target: '/scenarios/scenario.yaml' }])
    expect(spec.capabilities).toEqual(['NET_BIND_SERVICE', 'NET_ADMIN', 'NET_RAW'])
  })

  it('an emulated phone boots once in the image: its own address gone, broadcast DHCP on eth0, its report as JSON', () => {
    const spec = new Cx700PhoneContainer({ mac: '00:04:F2:00:37:02' }).spec()
    expect(spec).toMatchObject({
      image: 'cx700-lab:local',
      entrypoint: ['/bin/sh', '-c'],
      user: '0:0',
      capabilities: ['NET_ADMIN', 'NET_RAW'],
    })
    expect(spec.command).toEqual([
      'ip addr flush dev eth0 && exec node /app/dist/cli/main.js phone --direct --interface eth0 ' +
        '--mac 00:04:f2:00:37:02 --state /tmp/phones --json',
    ])
    // The MAC goes into a shell line: only a MAC is taken.
    expect(() => new Cx700PhoneContainer({ mac: '00:04:f2:00:37:02; reboot' })).toThrow(LabError)
  })
})
