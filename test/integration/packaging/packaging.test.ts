import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../../lab/paths.js'
import { loadScenario } from '../../../lab/scenario/load.js'
import { SERVER_DEFINITIONS, SERVER_NAMES } from '../../../servers/index.js'
import { tool } from '../../helpers/tools.js'
import { loadFleet } from '../../../lab/fleet/file.js'

const root = packageRoot()
interface Service {
  command: string[]
  expose: string[]
  volumes: string[]
  networks: string[]
  cap_add: string[]
  healthcheck: { test: string[] }
}
const compose = parse(readFileSync(join(root, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>
  networks: Record<string, { external: boolean; name: string }>
  volumes: Record<string, unknown>
}
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
const dockerCompose = tool('docker-compose', 'docker-compose')

const option = (args: readonly string[], name: string): string | undefined => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

/** What the lab binds for a scenario outside loopback mode: each enabled server's standard ports. */
function boundPorts(scenarioFile: string): string[] {
  const s = loadScenario(scenarioFile)
  const out = new Set<string>()
  for (const name of SERVER_NAMES) {
    if (!s.servers[name].enabled) continue
    for (const socket of SERVER_DEFINITIONS[name].sockets) {
      if (socket.name === 'ldap-gc' && !s.servers.ldap.globalCatalog) continue
      out.add(`${socket.standardPort}/${socket.transport}`)
    }
  }
  return [...out]
}

describe('compose.yaml', () => {
  it.skipIf(dockerCompose.skip)('is valid for Debian’s docker-compose (config)', async () => {
    const { stdout } = await promisify(execFile)(
      dockerCompose.path!,
      ['-f', join(root, 'compose.yaml'), 'config'],
      {
        env: { ...process.env, CX700_VLAN10_TOKEN: 'token-ten', CX700_VLAN20_TOKEN: 'token-twenty' },
        timeout: 30_000,
      },
    )
    expect(stdout).toContain('name: cx700-vlan10')
    expect(stdout).toContain('token-ten')
    expect(stdout).toContain('token-twenty')
  })

  it('runs one lab per VLAN: each its own scenario (with its own address), state, network and token; DHCP on its one link', () => {
    const services = Object.values(compose.services)
    expect(services).toHaveLength(2)
    const seen = { scenarios: new Set<string>(), volumes: new Set<string>(), networks: new Set<string>() }
    for (const lab of services) {
      const [verb, scenarioPath] = lab.command
      expect(verb).toBe('up')
      const host = lab.volumes.find((v) => v.endsWith(':/scenarios:ro'))!.split(':')[0]!
      const file = join(root, host, scenarioPath!.replace('/scenarios/', ''))
      expect(existsSync(file)).toBe(true)
      // The network's --ip-range (compose.yaml's header) gives the lab the address its scenario names.
      const [network] = lab.networks
      const id = /^vlan(\d+)$/.exec(network!)![1]!
      // Its scenario extends the image's default scenario (/app in the image; here, the repository's).
      const text = readFileSync(file, 'utf8').replace('/app/scenarios/', `${join(root, 'scenarios')}/`)
      expect(loadScenario(file, text).site.labAddress).toBe(`10.${id}.0.1`)
      expect(compose.networks[network!]).toEqual({
        external: true,
        name: `\${CX700_VLAN${id}_NETWORK:-cx700-vlan${id}}`,
      })
      expect(option(lab.command, '--token')).toMatch(new RegExp(`^\\$\\{CX700_VLAN${id}_TOKEN:\\?`))
      expect(option(lab.command, '--mode')).toBe('netns')
      expect(option(lab.command, '--interface')).toBe('eth0')
      seen.scenarios.add(file)
      seen.volumes.add(lab.volumes.find((v) => v.endsWith(':/state'))!)
      seen.networks.add(network!)
      const adminPort = option(lab.command, '--admin')!.split(':')[1]!
      expect([...lab.expose].sort()).toEqual(
        [...boundPorts(join(root, 'scenarios', 'default.yaml')), `${adminPort}/tcp`].sort(),
      )
      expect(lab.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${adminPort}/health`)
      expect(lab.cap_add).toEqual(expect.arrayContaining(['NET_ADMIN', 'NET_BIND_SERVICE']))
    }
    expect([seen.scenarios.size, seen.volumes.size, seen.networks.size]).toEqual([2, 2, 2])
  })

  it('its fleet file names every lab it starts, by the address its network gives it, with its token', () => {
    const fleet = loadFleet(join(root, 'deploy', 'compose', 'fleet.yaml'), undefined, {
      CX700_VLAN10_TOKEN: 'a',
      CX700_VLAN20_TOKEN: 'b',
    })
    expect(fleet.labs.map((l) => [l.admin, l.token])).toEqual([
      ['http://10.10.0.1:8700', 'a'],
      ['http://10.20.0.1:8700', 'b'],
    ])
  })
})

describe('Dockerfile (checked by its structure: there is no Docker engine here)', () => {
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!)
  it('builds from one pinned base image in two stages, with the lockfile and npm ci', () => {
    expect(froms).toHaveLength(2)
    expect(new Set(froms.map((f) => f.split(' ')[0]))).toEqual(new Set(['node:24.21.0-bookworm-slim']))
    expect(froms.every((f) => /:\d+\.\d+\.\d+-/.test(f) && !f.endsWith(':latest'))).toBe(true)
    expect(dockerfile).toMatch(/^COPY package\.json package-lock\.json \.\/$/m)
    expect(dockerfile).toMatch(/^RUN npm ci/m)
    expect(dockerfile).toMatch(/npm prune --omit=dev/)
  })

  it('runs the CLI, checks /health on the admin port it starts, and exposes nothing', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/app\/dist\/cli\/main\.js"\]$/m)
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[]
    const adminPort = option(cmd, '--admin')!.split(':')[1]
    expect(dockerfile).toContain(`http://127.0.0.1:${adminPort}/health`)
    // compose documents the ports; the image exposes none (podman's API would report them as unbound).
    expect(dockerfile).not.toMatch(/^EXPOSE /m)
    expect(dockerfile).toMatch(/^VOLUME \["\/state"\]$/m)
  })

  it('builds every folder the build compiles, and runs as the lab’s unprivileged user as the buildah image does', () => {
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] }
    for (const dir of build.include)
      expect(dockerfile, dir).toMatch(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'))
    const script = readFileSync(join(root, 'containers', 'build-image.sh'), 'utf8')
    expect(dockerfile).toMatch(/^USER cx700$/m)
    expect(script).toContain('--user cx700')
    expect(dockerfile).toContain('--uid 900')
    expect(script).toMatch(/^uid=900$/m)
  })

  it('never copies state, keys or dependencies from the build machine', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.state', '.git']))
    expect(dockerfile).not.toMatch(/^COPY \. /m)
  })
})
