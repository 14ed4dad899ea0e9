import { describe, expect, it } from 'vitest'
import { ADMIN_PORT, Cx700LabContainer, labContainerSpec } from './index.js'

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
})
