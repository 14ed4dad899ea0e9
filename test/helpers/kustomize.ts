import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'

/** A Kubernetes object as the manifests write it. */
export type K8sObject = {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
} & Record<string, unknown>

interface Kustomization {
  readonly namespace?: string
  readonly resources?: readonly string[]
  readonly labels?: readonly { pairs: Record<string, string> }[]
  readonly configMapGenerator?: readonly { name: string; files: readonly string[] }[]
  readonly patches?: readonly {
    target: { kind: string; name: string }
    patch: string
  }[]
}

/** RFC 6902 `replace` and `add` at a JSON pointer: all the overlays use. */
function applyOp(doc: Record<string, unknown>, op: { op: string; path: string; value: unknown }): void {
  if (op.op !== 'replace' && op.op !== 'add')
    throw new Error(`the overlays use replace and add, not ${op.op}`)
  const keys = op.path
    .split('/')
    .slice(1)
    .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'))
  let at: Record<string, unknown> = doc
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>
  at[keys.at(-1)!] = op.value
}

/**
 * What `kubectl kustomize DIR` renders for the layouts in deploy/kubernetes (resources, namespace, labels,
 * a ConfigMap from files, JSON 6902 patches), for the tests: no kustomize binary is packaged in Debian. The
 * generated ConfigMap keeps its name (kustomize would add a hash of its content and rewrite references).
 */
export function kustomize(dir: string): K8sObject[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization
  const objects: K8sObject[] = []
  for (const r of k.resources ?? []) {
    if (r.endsWith('.yaml')) {
      for (const doc of parseAllDocuments(readFileSync(join(dir, r), 'utf8')))
        objects.push(doc.toJS() as K8sObject)
    } else objects.push(...kustomize(join(dir, r)))
  }
  for (const g of k.configMapGenerator ?? [])
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: g.name },
      data: Object.fromEntries(g.files.map((f) => [basename(f), readFileSync(join(dir, f), 'utf8')])),
    })
  for (const p of k.patches ?? []) {
    const target = objects.find((o) => o.kind === p.target.kind && o.metadata.name === p.target.name)
    if (!target)
      throw new Error(`${dir}: a patch targets ${p.target.kind} ${p.target.name}, which is not there`)
    for (const op of parse(p.patch) as { op: string; path: string; value: unknown }[]) applyOp(target, op)
  }
  for (const o of objects) {
    if (k.namespace !== undefined) o.metadata.namespace = k.namespace
    for (const l of k.labels ?? []) o.metadata.labels = { ...o.metadata.labels, ...l.pairs }
  }
  return objects
}
