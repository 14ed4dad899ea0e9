import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Cx700LabContainer,
  Cx700PhoneContainer,
  type PhoneBootReport,
} from '../../../lab/testcontainers/index.js'
import type { PhoneReport } from '../../../phone/emulator.js'
import { containerSkip, ensureTestImage, PODMAN_CONF, TEST_IMAGE } from '../../helpers/image.js'
import { tool } from '../../helpers/tools.js'

const dig = tool('dig', 'bind9-dnsutils')
const ldapsearch = tool('ldapsearch', 'ldap-utils')

/** podman's Docker-compatible API answers on the socket (GET /_ping → 200). */
function pinged(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 1_000 }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

describe.skipIf(containerSkip ?? dig.skip ?? ldapsearch.skip)(
  'the testcontainers module against podman’s Docker API (issue 37)',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx700-podman-'))
    const socket = join(dir, 'podman.sock')
    let service: ChildProcess | undefined

    beforeAll(async () => {
      ensureTestImage()
      writeFileSync(join(dir, 'containers.conf'), PODMAN_CONF)
      service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
        stdio: 'ignore',
        env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') },
      })
      // The service is ready when its API answers: asked a bounded number of times, never slept on blindly.
      for (let i = 0; i < 100 && !(await pinged(socket)); i++) await new Promise((r) => setTimeout(r, 100))
      // testcontainers reads these at its first use: podman's socket, and no Ryuk (its image cannot be pulled).
      process.env.DOCKER_HOST = `unix://${socket}`
      process.env.TESTCONTAINERS_RYUK_DISABLED = 'true'
    }, 600_000)

    /** Named, so that a container whose start failed is removed too (no Ryuk here to reap it). */
    const name = `cx700-lab-testcontainers-${process.pid}`

    /** The phones' segment of the phone test: a podman network of the test's own, the default scenario's subnet. */
    const segment = `cx700-lab-phones-${process.pid}`
    const phoneName = `cx700-lab-phone-${process.pid}`

    /** The anonymous volumes of the containers started (the image's /state): podman's Docker API keeps them. */
    const volumes: string[] = []
    const keepVolumesOf = (container: string): void => {
      const r = spawnSync(
        'podman',
        ['inspect', container, '--format', '{{range .Mounts}}{{.Name}} {{end}}'],
        {
          encoding: 'utf8',
        },
      )
      volumes.push(...r.stdout.split(/\s+/).filter((v) => v !== ''))
    }

    afterAll(() => {
      if (volumes.length > 0) spawnSync('podman', ['volume', 'rm', '--force', ...volumes])
      spawnSync('podman', ['rm', '--force', '--ignore', name, `${name}-dhcp`, phoneName])
      spawnSync('podman', ['network', 'rm', '--force', segment])
      // podman 4.3's CNI keeps a removed network's address store.
      rmSync(`/var/lib/cni/networks/${segment}`, { recursive: true, force: true })
      if (service?.pid !== undefined) process.kill(service.pid, 'SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    })

    it('starts the lab’s image through the module; real clients ask it; the typed client reads its journal', async () => {
      const started = await new Cx700LabContainer({ image: TEST_IMAGE }).withName(name).start()
      keepVolumesOf(name)
      try {
        const client = started.getClient()
        const { endpoints } = await started.getEndpoints()
        expect(endpoints.find((e) => e.name === 'ldap')).toMatchObject({ port: 389 })
        const host = started.getHost()
        const srv = spawnSync(
          dig.path!,
          [
            '+tcp',
            '+short',
            '-p',
            String(started.getMappedPort(53)),
            `@${host}`,
            '_ldap._tcp.dc._msdcs.corp.contoso.test',
            'SRV',
          ],
          { encoding: 'utf8', timeout: 10_000 },
        )
        expect(srv.stdout.trim()).toBe('0 100 389 dc1.corp.contoso.test.')
        const dse = spawnSync(
          ldapsearch.path!,
          [
            '-x',
            '-LLL',
            '-H',
            `ldap://${host}:${started.getMappedPort(389)}`,
            '-s',
            'base',
            '-b',
            '',
            'defaultNamingContext',
          ],
          { encoding: 'utf8', timeout: 10_000 },
        )
        expect(dse.stdout).toContain('defaultNamingContext: DC=corp,DC=contoso,DC=test')
        const seen = await client.journal({ server: 'dns' })
        expect(seen.map((e) => e.summary)).toContainEqual(
          expect.stringContaining('_ldap._tcp.dc._msdcs.corp.contoso.test SRV (tcp)'),
        )
        expect((await client.journal({ server: 'ldap' })).length).toBeGreaterThan(0)
        // The token is the module's own, from the environment: the API refuses a request without it.
        expect((await fetch(`${started.getAdminUrl()}/journal`)).status).toBe(401)
      } finally {
        await started.stop()
      }
    }, 120_000)

    it('an emulated phone in a container beside it boots by broadcast DHCP across the container boundary and signs in', async () => {
      // The segment: the default scenario's subnet; the lab, started first on the fresh network, gets its first
      // address (10.50.0.1, the scenario's labAddress); no DHCP server of podman's answers there.
      const made = spawnSync(
        'podman',
        ['network', 'create', '--subnet', '10.50.0.0/24', '--gateway', '10.50.0.254', segment],
        {
          encoding: 'utf8',
          env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') },
        },
      )
      expect(made.status, made.stderr).toBe(0)
      const lab = await new Cx700LabContainer({ image: TEST_IMAGE })
        .withDhcpInterface('eth0')
        .withNetworkMode(segment)
        .withName(`${name}-dhcp`)
        .start()
      keepVolumesOf(`${name}-dhcp`)
      try {
        expect(lab.getIpAddress(segment)).toBe('10.50.0.1')
        const mac = '00:04:f2:00:37:02'
        // The phone: the image's own emulator in a container of its own on the same network (the module's).
        // What the module reads of a boot is what the emulator reports (held at compile time).
        const held: [PhoneReport] extends [PhoneBootReport] ? true : false = true
        expect(held).toBe(true)
        const { report } = await new Cx700PhoneContainer({ image: TEST_IMAGE, mac })
          .withName(phoneName)
          .withNetworkMode(segment)
          .withStartupTimeout(90_000)
          .boot()
        keepVolumesOf(phoneName)
        expect(report.endState, report.steps.map((x) => `${x.step} ${x.ok} ${x.detail}`).join('\n')).toBe(
          'signed-in',
        )
        expect(report.learnt.address).toMatch(/^10\.50\.0\.\d+$/)
        // The lab's own account of it, through the typed client: the lease by broadcast, then the phone's sign-in.
        const client = lab.getClient()
        const dhcp = await client.journal({ server: 'dhcp', device: mac })
        expect(dhcp.map((e) => e.summary)).toContainEqual(
          expect.stringMatching(/^ACK 10\.50\.0\.\d+ to 00:04:f2:00:37:02 → 255\.255\.255\.255:68/),
        )
        const summary = await client.summary()
        expect(summary.phones).toEqual([
          expect.objectContaining({ key: `mac:${mac}`, endState: 'signed-in' }),
        ])
      } finally {
        await lab.stop()
      }
    }, 180_000)
  },
)
