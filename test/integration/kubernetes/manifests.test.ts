import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Service } from 'kubernetes-models/v1/Service'
import { packageRoot } from '../../../lab/paths.js'
import { loadScenario } from '../../../lab/scenario/load.js'
import { kustomize, type K8sObject } from '../../helpers/kustomize.js'

const DEPLOY = join(packageRoot(), 'deploy', 'kubernetes')
const OVERLAYS = readdirSync(join(DEPLOY, 'overlays'))

/** Each kind the manifests use, validated against the Kubernetes OpenAPI schemas (kubernetes-models). */
const MODELS: Record<string, (o: K8sObject) => { validate(): void }> = {
  StatefulSet: (o) => new StatefulSet(o),
  Service: (o) => new Service(o),
  NetworkPolicy: (o) => new NetworkPolicy(o),
  ConfigMap: (o) => new ConfigMap(o),
}

/** Multus's CRD holds a CNI configuration as JSON text: the macvlan on the VLAN, the lab's static address. */
interface MacvlanConfig {
  type: string
  master: string
  mode: string
  ipam: { type: string; addresses: { address: string }[] }
}

interface Container {
  readonly args: readonly string[]
  readonly env: readonly object[]
  readonly readinessProbe: { readonly httpGet: { readonly path: string } }
  readonly livenessProbe: { readonly httpGet: { readonly path: string } }
  readonly volumeMounts: readonly object[]
}
type StatefulSetDoc = K8sObject & {
  spec: {
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> }
      spec: { securityContext: object; containers: Container[] }
    }
    volumeClaimTemplates: { metadata: { name: string } }[]
  }
}
type ServiceDoc = K8sObject & { spec: { selector: Record<string, string> } }
type PolicyDoc = K8sObject & {
  spec: { podSelector: { matchLabels: Record<string, string> }; ingress: { ports: { port: number }[] }[] }
}

const one = (objects: K8sObject[], kind: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind)
  expect(found, kind).toHaveLength(1)
  return found[0]!
}

describe('Kubernetes manifests (issue 37): a lab per VLAN', () => {
  it.each(['base', ...OVERLAYS.map((o) => `overlays/${o}`)])(
    '%s: every object passes the Kubernetes schemas',
    (dir) => {
      const objects = kustomize(join(DEPLOY, dir))
      for (const o of objects) {
        if (o.kind === 'NetworkAttachmentDefinition') {
          expect(o.apiVersion).toBe('k8s.cni.cncf.io/v1')
          const config = JSON.parse((o.spec as { config: string }).config) as MacvlanConfig
          expect(config).toMatchObject({ type: 'macvlan', mode: 'bridge', ipam: { type: 'static' } })
          continue
        }
        const model = MODELS[o.kind]
        expect(model, `${o.kind} has a model`).toBeDefined()
        expect(() => model!(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow()
      }
    },
  )

  it('the schemas refuse a broken object (the check can fail)', () => {
    const [set] = kustomize(join(DEPLOY, 'base')).filter((o) => o.kind === 'StatefulSet')
    const broken = structuredClone(set!) as K8sObject & { spec: { replicas: unknown } }
    broken.spec.replicas = 'one'
    expect(() => MODELS.StatefulSet!(broken).validate()).toThrow(/replicas must be integer/)
  })

  it.each(OVERLAYS)(
    '%s: its VLAN, its address, its scenario, its namespace; the admin API behind the Secret and the NetworkPolicy',
    (overlay) => {
      const objects = kustomize(join(DEPLOY, 'overlays', overlay))
      const vlan = overlay.replace('vlan-', '')
      expect(new Set(objects.map((o) => o.metadata.namespace))).toEqual(new Set([`cx700-${overlay}`]))
      const nad = JSON.parse(
        (one(objects, 'NetworkAttachmentDefinition').spec as { config: string }).config,
      ) as MacvlanConfig
      expect(nad.master).toBe(`eth1.${vlan}`)
      // The scenario's lab address is the one the macvlan gives the pod on the phones' segment.
      const text = String((one(objects, 'ConfigMap').data as Record<string, string>)['scenario.yaml'])
      const scenario = loadScenario(
        join(DEPLOY, 'overlays', overlay, 'scenario.yaml'),
        text.replace('/app/scenarios/default.yaml', join(packageRoot(), 'scenarios', 'default.yaml')),
      )
      expect(nad.ipam.addresses[0]!.address).toBe(`${scenario.site.labAddress}/24`)
      expect(scenario.servers.dhcp.clusterLinks).toEqual(['eth0'])
      const set = one(objects, 'StatefulSet') as StatefulSetDoc
      const pod = set.spec.template
      expect(pod.metadata.annotations['k8s.v1.cni.cncf.io/networks']).toBe('cx700-phones')
      const lab = pod.spec.containers[0]!
      expect(lab.args).toEqual([
        'up',
        '/scenario/scenario.yaml',
        '--mode',
        'netns',
        '--interface',
        'net1',
        '--admin',
        '0.0.0.0:8700',
      ])
      expect(lab.env).toEqual([
        { name: 'CX700_LAB_TOKEN', valueFrom: { secretKeyRef: { name: 'cx700-lab-admin', key: 'token' } } },
      ])
      expect([lab.readinessProbe.httpGet.path, lab.livenessProbe.httpGet.path]).toEqual([
        '/health',
        '/health',
      ])
      expect(pod.spec.securityContext).toMatchObject({ runAsUser: 900, runAsNonRoot: true })
      expect(set.spec.volumeClaimTemplates[0]!.metadata.name).toBe('state')
      expect(lab.volumeMounts).toContainEqual({ name: 'state', mountPath: '/state' })
      const service = one(objects, 'Service') as ServiceDoc
      expect(service.spec.selector).toEqual(pod.metadata.labels)
      const policy = one(objects, 'NetworkPolicy') as PolicyDoc
      expect(policy.spec.podSelector.matchLabels).toEqual(pod.metadata.labels)
      // On the cluster network only the admin API is let in: DHCP, DNS and the rest never reach the pod there.
      expect(policy.spec.ingress.flatMap((r) => r.ports.map((p) => p.port))).toEqual([8700])
    },
  )
})
