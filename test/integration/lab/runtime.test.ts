import { createSocket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LabError } from '../../../core/errors.js'
import { testLogger } from '../../../core/logger.js'
import { Lab, planListen } from '../../../lab/runtime.js'
import { loadScenario } from '../../../lab/scenario/load.js'
import { MINIMAL_SCENARIO, startTestLab } from '../../helpers/lab.js'
import { ntpClient } from '../../helpers/ntp-client.js'

describe('Lab runtime', () => {
  it('publishes a port map: each socket with the scenario hosts it stands for', async () => {
    await using t = await startTestLab()
    const ntp = t.lab.endpoints().find((e) => e.server === 'ntp')
    expect(ntp).toMatchObject({
      server: 'ntp',
      name: 'ntp',
      transport: 'udp',
      address: '127.0.0.1',
      standardPort: 123,
      hosts: ['time.contoso.test'],
    })
    expect(ntp?.port).toBeGreaterThan(0)
    expect(t.lab.endpoints().find((e) => e.server === 'dns')).toMatchObject({
      standardPort: 53,
      hosts: ['dc1.contoso.test'],
    })
    expect(t.lab.health()).toMatchObject({ ok: true, scenario: 'test' })
    expect(t.lab.journal.query({ kind: 'lab:started' })).toHaveLength(1)
  })

  it('maps standard ports to portBase + port in loopback mode, and keeps them in netns mode', () => {
    const s = loadScenario('s.yaml', MINIMAL_SCENARIO)
    expect(planListen('ntp', s.servers, s.network, 'scenario')[0]).toMatchObject({
      address: '127.0.0.1',
      port: 10123,
    })
    expect(
      planListen('ntp', s.servers, { ...s.network, mode: 'netns', address: '0.0.0.0' }, 'scenario')[0],
    ).toMatchObject({ address: '0.0.0.0', port: 123 })
    expect(planListen('ntp', s.servers, s.network, 'ephemeral')[0]?.port).toBe(0)
  })

  it('starts all or none: a busy port fails the start, names the port, and leaves nothing bound', async () => {
    const blocker = createSocket('udp4')
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', () => r()))
    const busy = blocker.address().port
    const dir = mkdtempSync(join(tmpdir(), 'cx700-busy-'))
    try {
      const scenario = loadScenario(
        join(dir, 's.yaml'),
        MINIMAL_SCENARIO + `servers:\n  ntp:\n    listen: { port: ${busy} }\n`,
        dir,
      )
      const lab = new Lab({ scenario, logger: testLogger(), stateDir: dir, ports: 'ephemeral' })
      const err = await lab.start().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LabError)
      expect((err as LabError).code).toBe('LAB_ERR_SERVER_BIND')
      expect((err as LabError).message).toContain(`port ${busy}/udp on 127.0.0.1 is already in use`)
      expect(lab.state).toBe('stopped')
      expect(lab.endpoints()).toEqual([])
    } finally {
      blocker.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reloads knobs in place: same socket, new answers, fresh scenario fault rules', async () => {
    await using t = await startTestLab()
    const port = t.port('ntp')
    await using c = await ntpClient(port)
    expect((await c.ask()).stratum).toBe(2)
    await t.lab.reload(
      loadScenario(
        t.write(
          'next.yaml',
          MINIMAL_SCENARIO.replace('name: test', 'name: next') + 'servers:\n  ntp:\n    stratum: 5\n',
        ),
      ),
    )
    expect(t.port('ntp')).toBe(port)
    expect((await c.ask()).stratum).toBe(5)
    expect(t.lab.scenario.name).toBe('next')
    expect(t.lab.journal.query({ kind: 'lab:reloaded' })[0]?.summary).toBe('scenario test → next')
  })

  it('moves a server whose listen changed, and stops one the new scenario disables', async () => {
    await using t = await startTestLab()
    const blocker = createSocket('udp4')
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', () => r()))
    const free = blocker.address().port
    blocker.close()
    await t.lab.reload(
      loadScenario(
        t.write('moved.yaml', MINIMAL_SCENARIO + `servers:\n  ntp:\n    listen: { port: ${free} }\n`),
      ),
    )
    expect(t.port('ntp')).toBe(free)
    await using c = await ntpClient(free)
    expect((await c.ask()).mode).toBe(4)
    await t.lab.reload(
      loadScenario(t.write('off.yaml', MINIMAL_SCENARIO + 'servers:\n  ntp:\n    enabled: false\n')),
    )
    const servers = t.lab.endpoints().map((e) => e.server)
    expect(servers).not.toContain('ntp')
    expect(servers).toContain('dns')
  })

  it('keeps the old scenario serving when the new one cannot bind', async () => {
    await using t = await startTestLab()
    const blocker = createSocket('udp4')
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', () => r()))
    const busy = blocker.address().port
    try {
      const next = loadScenario(
        t.write(
          'busy.yaml',
          MINIMAL_SCENARIO.replace('name: test', 'name: busy') +
            `servers:\n  ntp:\n    listen: { port: ${busy} }\n`,
        ),
      )
      await expect(t.lab.reload(next)).rejects.toThrow(/already in use/)
      expect(t.lab.scenario.name).toBe('test')
      await using c = await ntpClient(t.port('ntp'))
      expect((await c.ask()).mode).toBe(4)
      expect(t.lab.journal.query({ kind: 'lab:reload-failed' })).toHaveLength(1)
    } finally {
      blocker.close()
    }
  })
})
