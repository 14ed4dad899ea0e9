import { basename, dirname, isAbsolute, resolve } from 'node:path'
import { stringify } from 'yaml'
import { locate, readYamlSource, type Source } from './yaml-source.js'
import { ScenarioError, type ScenarioProblem } from '../../core/errors.js'
import { checkRule } from '../../core/faults/engine.js'
import { FaultRuleSchema, type FaultCapabilities, type FaultRule } from '../../core/faults/types.js'
import { validatorFor } from '../../core/schema/ajv.js'
import { NOTHING_WORD, meansNothing } from '../../core/schema/common.js'
import { describeAjvError } from '../../core/schema/problems.js'
import { deriveHosts, deriveNetwork, deriveSite, deriveUsers } from './derive.js'
import type { Scenario } from './model.js'
import { ScenarioSchema, type ScenarioDocument } from './schema.js'
import { SERVER_DEFINITIONS, SERVER_FAULTS, SERVER_NAMES } from '../../servers/index.js'
import type { ScenarioCheck } from '../../core/server.js'

export type Plain = Record<string, unknown>
export const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Objects merge key by key; anything else in the child replaces the parent's value. A scenario's `expect`
 * (and `description`) are its own story: when the child has one, it replaces the parent's whole. Its `cause`
 * names parts of its own file, so it is never inherited.
 */
export function mergeScenario(parent: unknown, child: unknown, top = true): unknown {
  if (!isPlain(parent) || !isPlain(child)) return child
  const out: Plain = { ...parent }
  if (top) delete out.cause
  for (const [k, v] of Object.entries(child))
    out[k] = k in parent && !(top && k === 'expect') ? mergeScenario(parent[k], v, false) : v
  return out
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

interface Chain {
  sources: Source[]
  data: unknown
  problems: ScenarioProblem[]
}

function readChain(file: string, text: string | undefined, seen: readonly string[]): Chain {
  const read = readYamlSource(file, text)
  if (!read.source || read.data === undefined || read.problems.length > 0)
    return { sources: read.source ? [read.source] : [], data: read.data, problems: read.problems }
  const source = read.source
  const data = read.data as Plain
  const parentRef = data.extends
  if (typeof parentRef !== 'string') return { sources: [source], data, problems: [] }
  const parentFile = resolve(dirname(file), parentRef)
  if (seen.includes(parentFile) || parentFile === file) {
    const at = locate([source], '/extends')
    return {
      sources: [source],
      data,
      problems: [
        { ...at, path: '/extends', message: `extends itself through ${[...seen, file].join(' → ')}` },
      ],
    }
  }
  const parent = readChain(parentFile, undefined, [...seen, file])
  if (parent.sources.length === 0) {
    const at = locate([source], '/extends')
    return {
      sources: [source],
      data,
      problems: [
        {
          ...at,
          path: '/extends',
          message: `cannot read ${parentRef}: ${parent.problems[0]?.message ?? ''}`,
        },
      ],
    }
  }
  const { extends: _drop, ...own } = data
  return {
    sources: [source, ...parent.sources],
    data: mergeScenario(parent.data, own),
    problems: parent.problems,
  }
}

type Problem = { pointer: string; message: string }

/** The items of a list that pass `ok` (the others undefined, to keep their indexes). */
const arrayOf = <T>(v: unknown, ok: (x: unknown) => boolean): (T | undefined)[] =>
  Array.isArray(v) ? v.map((x) => (ok(x) ? (x as T) : undefined)) : []

/** Two items of a list with the same key (case-insensitive): the later one names the first. */
function duplicates(list: readonly (string | undefined)[], pointer: (i: number) => string): Problem[] {
  const out: Problem[] = []
  const seen = new Map<string, number>()
  list.forEach((key, i) => {
    if (key === undefined) return
    const first = seen.get(key.toLowerCase())
    if (first !== undefined)
      out.push({ pointer: pointer(i), message: `duplicate of ${pointer(first).replace(/\/[^/]+$/, '')}` })
    else seen.set(key.toLowerCase(), i)
  })
  return out
}

/** Each well-formed fault rule: its server's capabilities, the server enabled, its id unique. */
function faultChecks(
  doc: Partial<ScenarioDocument>,
  caps: ReadonlyMap<string, FaultCapabilities>,
): Problem[] {
  const out: Problem[] = []
  const ids = new Set<string>()
  const validRule = validatorFor(FaultRuleSchema)
  arrayOf<FaultRule>(doc.faults, (r) => validRule(structuredClone(r))).forEach((rule, i) => {
    if (!rule) return
    for (const p of checkRule(rule, caps)) out.push({ pointer: `/faults/${i}${p.path}`, message: p.message })
    const server = rule.match?.server
    const block = isPlain(doc.servers) ? doc.servers[server as keyof ScenarioDocument['servers']] : undefined
    if (server !== undefined && isPlain(block) && block.enabled === false)
      out.push({
        pointer: `/faults/${i}/match/server`,
        message: `server "${server}" is disabled in this scenario`,
      })
    if (rule.id !== undefined) {
      if (ids.has(rule.id))
        out.push({ pointer: `/faults/${i}/id`, message: `duplicate fault id "${rule.id}"` })
      ids.add(rule.id)
    }
  })
  return out
}

/** A script step that stops or starts a server the registry does not have. */
function scriptChecks(
  doc: Partial<ScenarioDocument>,
  caps: ReadonlyMap<string, FaultCapabilities>,
): Problem[] {
  const out: Problem[] = []
  arrayOf<Plain>(doc.script, isPlain).forEach((step, i) => {
    const act = step && isPlain(step.do) ? step.do : {}
    for (const key of ['stop', 'start'] as const) {
      const server = act[key]
      if (typeof server === 'string' && !caps.has(server))
        out.push({
          pointer: `/script/${i}/do/${key}`,
          message: `unknown server "${server}" (known: ${[...caps.keys()].join(', ')})`,
        })
    }
  })
  return out
}

/** The phone's user and the user it was used by before are users of the scenario. */
function phoneChecks(doc: Partial<ScenarioDocument>, users: readonly (string | undefined)[]): Problem[] {
  const known = new Set(users.filter((u) => u !== undefined).map((u) => u.toLowerCase()))
  const phone: Plain = isPlain(doc.phone) ? doc.phone : {}
  return (['user', 'usedBefore'] as const).flatMap((key) => {
    const named = phone[key]
    return typeof named === 'string' && !known.has(named.toLowerCase())
      ? [
          {
            pointer: `/phone/${key}`,
            message: `"${named}" is not the sign-in address of a user of this scenario (/users)`,
          },
        ]
      : []
  })
}

/** Words that mean nothing where an empty value was meant; interface mode without its NIC. */
function networkChecks(doc: Partial<ScenarioDocument>): Problem[] {
  const out: Problem[] = []
  const dhcpDomain = isPlain(doc.site) ? doc.site.dhcpDomain : undefined
  if (typeof dhcpDomain === 'string' && meansNothing(dhcpDomain))
    out.push({
      pointer: '/site/dhcpDomain',
      message: NOTHING_WORD(dhcpDomain, 'to send no option 15 write servers.dhcp.domainName: ""'),
    })
  if (isPlain(doc.network) && doc.network.mode === 'interface' && doc.network.interface === undefined)
    out.push({
      pointer: '/network',
      message: 'interface mode needs network.interface (the NIC the phones are on)',
    })
  return out
}

/**
 * Checks that span fields. It runs even when the schema found problems, so it looks only at the parts that
 * are themselves well-formed.
 */
function crossCheck(data: Plain, caps: ReadonlyMap<string, FaultCapabilities>): Problem[] {
  const doc = data as Partial<ScenarioDocument>
  const users = arrayOf<{ signInAddress: string }>(
    doc.users,
    (u) => isPlain(u) && typeof u.signInAddress === 'string',
  ).map((u) => u?.signInAddress)
  const hosts = arrayOf<{ name: string }>(doc.hosts, (h) => isPlain(h) && typeof h.name === 'string').map(
    (h) => h?.name,
  )
  return [
    ...faultChecks(doc, caps),
    ...duplicates(users, (i) => `/users/${i}/signInAddress`),
    ...scriptChecks(doc, caps),
    ...phoneChecks(doc, users),
    ...duplicates(hosts, (i) => `/hosts/${i}/name`),
    ...networkChecks(doc),
  ]
}

/**
 * What each registered server checks beyond its schema (records it will parse, files it will serve), with
 * files resolved against the folder of the file that names them. A server's check runs only when its own
 * block is well-formed.
 */
function serverChecks(
  data: Plain,
  sources: readonly Source[],
  baseDir: string | undefined,
): { pointer: string; message: string }[] {
  const scenario: ScenarioCheck = {
    document: data,
    resolvePath: (pointer, name) => {
      const declaredIn = locate(sources, pointer).file
      return resolve(isAbsolute(declaredIn) ? dirname(declaredIn) : (baseDir ?? process.cwd()), name)
    },
  }
  const servers = isPlain(data.servers) ? data.servers : {}
  return SERVER_NAMES.flatMap((name) => {
    const block = servers[name]
    return isPlain(block) ? (SERVER_DEFINITIONS[name].check?.(block, scenario) ?? []) : []
  })
}

/**
 * Loads a scenario: parse YAML keeping positions → merge what it `extends` → validate everything → cross-check
 * → derive defaults from the site → deep-freeze. Throws one ScenarioError listing every problem, each as
 * `file:line:col  /path  message`. Nothing here binds a socket.
 */
export function loadScenario(file: string, text?: string, baseDir?: string): Scenario {
  const name = baseDir !== undefined ? resolve(baseDir, file) : resolve(file)
  const chain = readChain(text !== undefined && baseDir === undefined ? file : name, text, [])
  if (chain.problems.length > 0 || chain.sources.length === 0) throw new ScenarioError(chain.problems)
  const data = structuredClone(chain.data)
  const validate = validatorFor(ScenarioSchema)
  const problems: ScenarioProblem[] = []
  const seen = new Set<string>()
  const push = (pointer: string, message: string, key?: string): void => {
    const at = locate(chain.sources, pointer, key)
    const path = key !== undefined ? `${pointer}/${key}` : pointer
    const id = `${path}|${message}`
    if (seen.has(id)) return
    seen.add(id)
    problems.push({ ...at, path, message })
  }
  if (!validate(data)) {
    for (const e of validate.errors ?? []) {
      const d = describeAjvError(e)
      if (d) push(d.pointer, d.message, d.key)
    }
  }
  if (isPlain(data)) for (const p of crossCheck(data, SERVER_FAULTS)) push(p.pointer, p.message)
  if (isPlain(data)) for (const p of serverChecks(data, chain.sources, baseDir)) push(p.pointer, p.message)
  if (problems.length > 0) {
    const order = new Map(chain.sources.map((s, i) => [s.file, i]))
    problems.sort(
      (a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line || a.col - b.col,
    )
    throw new ScenarioError(problems)
  }
  const doc = data as ScenarioDocument

  const site = deriveSite(doc.site)
  return deepFreeze<Scenario>({
    file: chain.sources[0]!.file,
    files: chain.sources.map((s) => s.file),
    name: doc.name,
    description: doc.description,
    seed: doc.seed,
    clock: doc.clock,
    network: deriveNetwork(doc.network),
    site,
    users: deriveUsers(doc.users, site),
    hosts: deriveHosts(doc.hosts, site),
    pki: doc.pki,
    servers: doc.servers,
    faults: doc.faults,
    phone: doc.phone,
    script: doc.script,
    expect: doc.expect,
    ...(doc.cause ? { cause: doc.cause } : {}),
  })
}

/** The scenario with an overlay (any part of a scenario) merged over it, as `extends` merges, validated. */
export function overlaid(scenario: Scenario, overlay: Readonly<Record<string, unknown>>): Scenario {
  const text = stringify({ extends: basename(scenario.file), ...overlay })
  return loadScenarioText(text, `${scenario.file} (overlay)`, dirname(scenario.file))
}

/** Loads scenario text that did not come from a file (the admin API); `extends` resolves against baseDir. */
export function loadScenarioText(text: string, label: string, baseDir: string): Scenario {
  return loadScenario(label, text, baseDir)
}
