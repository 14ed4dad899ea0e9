import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { packageRoot } from '../../../lab/paths.js'
import { containerSkip, ensureTestImage, PODMAN_CONF, TEST_IMAGE } from '../../helpers/image.js'
import { kustomize, type K8sObject } from '../../helpers/kustomize.js'
import { tool } from '../../helpers/tools.js'

const dig = tool('dig', 'bind9-dnsutils')
tool('catatonit', 'catatonit') // podman builds kube play's pause image from it: no registry to pull one from
const OVERLAY = join(packageRoot(), 'deploy', 'kubernetes', 'overlays', 'vlan-10')
const TOKEN = 'kube-play-test-token'

interface PodTemplate {
  metadata: { labels: Record<string, string> }
  spec: {
    containers: (Record<string, unknown> & { args: string[] })[]
    volumes: Record<string, unknown>[]
  } & Record<string, unknown>
}

/**
 * The overlay's StatefulSet as the Pod podman runs: its pod template, the image here, the token as a value
 * (not a Secret), the state claim a podman volume. Multus cannot run here: podman's network is the pod's one
 * link, so the lab serves on it without --interface (DHCP off); no probes (podman would make systemd timers of
 * them) and no published ports.
 */
function podOf(objects: K8sObject[], name: string, claim: string): string {
  const set = objects.find((o) => o.kind === 'StatefulSet') as K8sObject & { spec: { template: PodTemplate } }
  const config = objects.find((o) => o.kind === 'ConfigMap')!
  const { spec } = structuredClone(set.spec.template)
  // No ports: podman would publish a container port on the host's same port; the test reaches the pod's own.
  const containers = spec.containers.map(
    ({ readinessProbe: _r, livenessProbe: _l, env: _e, ports: _p, ...c }) => ({
      ...c,
      // Root with every capability dropped could not write the volume the image's uid 900 owns.
      securityContext: { allowPrivilegeEscalation: false },
      image: TEST_IMAGE,
      args: c.args.filter((a, i, all) => a !== '--interface' && all[i - 1] !== '--interface'),
      env: [{ name: 'CX700_LAB_TOKEN', value: TOKEN }],
    }),
  )
  const volumes = [...spec.volumes, { name: 'state', persistentVolumeClaim: { claimName: claim } }]
  // podman 4.3's kube play drops the pod's sysctls, so uid 900 could not bind port 53 here: the lab runs as
  // root in this pod (Kubernetes applies the sysctl, and the manifests' uid 900 is held by manifests.test.ts).
  const securityContext = {
    ...(spec.securityContext as object),
    runAsUser: 0,
    runAsGroup: 0,
    runAsNonRoot: false,
  }
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: set.spec.template.metadata.labels },
    spec: { ...spec, securityContext, containers, volumes },
  }
  const { namespace: _n, ...meta } = config.metadata
  return `${stringify({ ...config, metadata: meta })}---\n${stringify(pod)}`
}

describe.skipIf(containerSkip ?? dig.skip)('a Kubernetes lab run with podman kube play (issue 37)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cx700-kube-'))
  const name = `cx700-lab-kube-${process.pid}`
  const claim = `${name}-state`
  const file = join(dir, 'pod.yaml')
  const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') }
  const podman = (...args: string[]) => spawnSync('podman', args, { encoding: 'utf8', env, timeout: 120_000 })

  beforeAll(() => {
    ensureTestImage()
    writeFileSync(join(dir, 'containers.conf'), PODMAN_CONF)
    writeFileSync(file, podOf(kustomize(OVERLAY), name, claim))
  }, 600_000)

  afterAll(() => {
    podman('kube', 'down', file)
    // The claim, and the volume kube play made of the ConfigMap.
    podman('volume', 'rm', '--force', claim, 'cx700-lab-scenario')
    rmSync(dir, { recursive: true, force: true })
  })

  it('brings up the overlay’s lab: it answers /health and a DNS query on the pod’s address', async () => {
    const played = podman('kube', 'play', file)
    expect(played.status, played.stderr).toBe(0)
    // The pod's address is its infra container's (the lab container shares its network namespace).
    const infra = podman('pod', 'inspect', name, '--format', '{{.InfraContainerID}}').stdout.trim()
    const ip = podman(
      'inspect',
      infra,
      '--format',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
    ).stdout.trim()
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    // Ready when /health answers: asked a bounded number of times (the lab makes its CA first).
    let health = 0
    for (let i = 0; i < 120 && health !== 200; i++) {
      health = await fetch(`http://${ip}:8700/health`).then(
        (r) => r.status,
        () => 0,
      )
      if (health !== 200) await new Promise((r) => setTimeout(r, 250))
    }
    expect(health).toBe(200)
    const srv = spawnSync(dig.path!, ['+short', `@${ip}`, '_ldap._tcp.dc._msdcs.corp.contoso.test', 'SRV'], {
      encoding: 'utf8',
      timeout: 10_000,
    })
    expect(srv.stdout.trim()).toBe('0 100 389 dc1.corp.contoso.test.')
    // VLAN 10's scenario: the lab's records carry its address there.
    const a = spawnSync(dig.path!, ['+short', `@${ip}`, 'dc1.corp.contoso.test', 'A'], { encoding: 'utf8' })
    expect(a.stdout.trim()).toBe('10.10.0.1')
    expect((await fetch(`http://${ip}:8700/journal`)).status).toBe(401)
  }, 180_000)
})
