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

const root = packageRoot()
const compose = parse(readFileSync(join(root, 'compose.yaml'), 'utf8')) as {
  services: {
    lab: {
      command: string[]
      expose: string[]
      volumes: string[]
      cap_add: string[]
      healthcheck: { test: string[] }
    }
  }
  networks: { phones: { driver: string } }
}
const lab = compose.services.lab
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
        env: { ...process.env, CX700_LAB_TOKEN: 'test-token' },
        timeout: 30_000,
      },
    )
    expect(stdout).toContain('driver: macvlan')
    expect(stdout).toContain('test-token')
  })

  it('runs a scenario that exists, with DHCP confined to the container’s one link, and exposes exactly what the lab binds', () => {
    const [verb, scenarioPath] = lab.command
    expect(verb).toBe('up')
    const host = lab.volumes.find((v) => v.endsWith(':/scenarios:ro'))!.split(':')[0]!
    const file = join(root, host, scenarioPath!.replace('/scenarios/', ''))
    expect(existsSync(file)).toBe(true)
    expect(option(lab.command, '--mode')).toBe('netns')
    expect(option(lab.command, '--interface')).toBe('eth0')
    expect(compose.networks.phones.driver).toBe('macvlan')
    const adminPort = option(lab.command, '--admin')!.split(':')[1]!
    expect([...lab.expose].sort()).toEqual([...boundPorts(file), `${adminPort}/tcp`].sort())
    expect(lab.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${adminPort}/health`)
    expect(lab.cap_add).toEqual(expect.arrayContaining(['NET_ADMIN', 'NET_BIND_SERVICE']))
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
