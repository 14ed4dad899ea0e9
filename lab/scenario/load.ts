import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { basename, dirname, isAbsolute, resolve } from 'node:path'
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, stringify, type Document } from 'yaml'
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

interface Source {
  readonly file: string
  readonly doc: Document
  readonly lines: LineCounter
}

type Plain = Record<string, unknown>
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Objects merge key by key; anything else in the child replaces the parent's value. A scenario's `expect`
 * (and `description`) are its own story: when the child has one, it replaces the parent's whole.
 */
export function mergeScenario(parent: unknown, child: unknown, top = true): unknown {
  if (!isPlain(parent) || !isPlain(child)) return child
  const out: Plain = { ...parent }
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

function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '') return []
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

/** Where in the files a JSON pointer (or, with `key`, a key of the object there) was written. */
function locate(
  sources: readonly Source[],
  pointer: string,
  key?: string,
): { file: string; line: number; col: number } {
  const segments = pointerSegments(pointer)
  for (let depth = segments.length; depth >= 0; depth--) {
    for (const s of sources) {
      const path = segments.slice(0, depth)
      const node = path.length === 0 ? s.doc.contents : s.doc.getIn(path, true)
      const range = (node as { range?: readonly [number, number, number] } | undefined)?.range
      if (!range) continue
      let offset = range[0]
      if (key !== undefined && depth === segments.length && isMap(node)) {
        const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key)
        const keyRange = (pair?.key as { range?: [number, number, number] } | null)?.range
        if (keyRange) offset = keyRange[0]
      }
      const pos = s.lines.linePos(offset)
      return { file: s.file, line: pos.line, col: pos.col }
    }
  }
  const first = sources[0]
  return { file: first?.file ?? '<scenario>', line: 1, col: 1 }
}

interface Chain {
  sources: Source[]
  data: unknown
  problems: ScenarioProblem[]
}

/** A scenario file's size, nesting and aliases are bounded: a hostile file must not freeze or exhaust the lab. */
const SCENARIO_MAX = 1024 * 1024
const DEPTH_MAX = 32
const ALIAS_MAX = 100
/** Keys that would reach an object's prototype: refused as the unknown fields they are. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/**
 * Reads a scenario file only if it is a regular file of at most SCENARIO_MAX octets. It is opened without
 * blocking, so a FIFO or a device (extends: /dev/zero) is refused at once instead of freezing the lab.
 */
function readScenarioText(file: string): { text: string } | { problem: string } {
  let fd: number
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    return { problem: code === 'ENOENT' ? 'no such file' : (cause as Error).message }
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) return { problem: 'not a regular file' }
    if (st.size > SCENARIO_MAX)
      return { problem: `${st.size} octets; a scenario has at most ${SCENARIO_MAX}` }
    return { text: readFileSync(fd, 'utf8') }
  } finally {
    closeSync(fd)
  }
}

/** Nesting deeper than DEPTH_MAX, and keys that reach the prototype, as offsets in the text. */
function shapeProblems(doc: Document): { offset: number; message: string }[] {
  const out: { offset: number; message: string }[] = []
  const walk = (node: unknown, depth: number): void => {
    if (out.length > 20) return
    if (!isMap(node) && !isSeq(node)) return
    const at = (node as { range?: readonly number[] }).range?.[0] ?? 0
    if (depth > DEPTH_MAX) {
      out.push({ offset: at, message: `nested deeper than ${DEPTH_MAX} levels` })
      return
    }
    for (const item of node.items) {
      if (isPair(item)) {
        const key = isScalar(item.key) ? item.key.value : undefined
        if (typeof key === 'string' && PROTOTYPE_KEYS.has(key))
          out.push({
            offset: (item.key as { range?: readonly number[] }).range?.[0] ?? at,
            message: `unknown field "${key}"`,
          })
        walk(item.value, depth + 1)
      } else walk(item, depth + 1)
    }
  }
  walk(doc.contents, 1)
  return out
}

function readChain(file: string, text: string | undefined, seen: readonly string[]): Chain {
  const problems: ScenarioProblem[] = []
  /** The chain stops at a problem with the whole file (read at line 1). */
  const stop = (sources: Source[], message: string): Chain => ({
    sources,
    data: undefined,
    problems: [{ file, line: 1, col: 1, path: '', message }],
  })
  const read = text !== undefined ? { text } : readScenarioText(file)
  if ('problem' in read) return stop([], `cannot read the file: ${read.problem}`)
  const body = read.text
  if (body.length > SCENARIO_MAX)
    return stop([], `is ${body.length} characters; a scenario has at most ${SCENARIO_MAX}`)
  const lines = new LineCounter()
  const doc = parseDocument(body, { lineCounter: lines, prettyErrors: true, uniqueKeys: true })
  const source: Source = { file, doc, lines }
  for (const p of shapeProblems(doc)) {
    const pos = lines.linePos(p.offset)
    problems.push({ file, line: pos.line, col: pos.col, path: '', message: p.message })
  }
  for (const err of doc.errors) {
    const pos = err.linePos?.[0] ?? { line: 1, col: 1 }
    problems.push({
      file,
      line: pos.line,
      col: pos.col,
      path: '',
      message: `YAML: ${(err.message.split('\n')[0] ?? err.code).replace(/ at line \d+, column \d+:?$/, '')}`,
    })
  }
  if (problems.length > 0) return { sources: [source], data: undefined, problems }
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: ALIAS_MAX })
  } catch (err) {
    // The yaml library's guard against alias bombs ("Excessive alias count …").
    return stop([source], `YAML: ${(err as Error).message} (at most ${ALIAS_MAX} alias uses)`)
  }
  if (!isPlain(data)) {
    return {
      sources: [source],
      data,
      problems: [
        { file, line: 1, col: 1, path: '', message: 'a scenario must be a YAML mapping (key: value lines)' },
      ],
    }
  }
  const parentRef = data.extends
  if (typeof parentRef !== 'string') return { sources: [source], data, problems }
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

/**
 * Checks that span fields. It runs even when the schema found problems, so it looks only at the parts that
 * are themselves well-formed.
 */
function crossCheck(
  data: Plain,
  caps: ReadonlyMap<string, FaultCapabilities>,
): { pointer: string; message: string }[] {
  const out: { pointer: string; message: string }[] = []
  const ids = new Set<string>()
  const doc = data as Partial<ScenarioDocument>
  const arrayOf = <T>(v: unknown, ok: (x: unknown) => boolean): (T | undefined)[] =>
    Array.isArray(v) ? v.map((x) => (ok(x) ? (x as T) : undefined)) : []
  const validRule = validatorFor(FaultRuleSchema)
  arrayOf<FaultRule>(doc.faults, (r) => validRule(structuredClone(r))).forEach((rule, i) => {
    if (!rule) return
    for (const p of checkRule(rule, caps)) out.push({ pointer: `/faults/${i}${p.path}`, message: p.message })
    const server = rule.match?.server
    const block = isPlain(doc.servers) ? doc.servers[server as keyof ScenarioDocument['servers']] : undefined
    if (server !== undefined && isPlain(block) && block.enabled === false) {
      out.push({
        pointer: `/faults/${i}/match/server`,
        message: `server "${server}" is disabled in this scenario`,
      })
    }
    if (rule.id !== undefined) {
      if (ids.has(rule.id))
        out.push({ pointer: `/faults/${i}/id`, message: `duplicate fault id "${rule.id}"` })
      ids.add(rule.id)
    }
  })
  const seenUsers = new Map<string, number>()
  arrayOf<{ signInAddress: string }>(
    doc.users,
    (u) => isPlain(u) && typeof u.signInAddress === 'string',
  ).forEach((u, i) => {
    if (!u) return
    const key = u.signInAddress.toLowerCase()
    const first = seenUsers.get(key)
    if (first !== undefined)
      out.push({ pointer: `/users/${i}/signInAddress`, message: `duplicate of /users/${first}` })
    else seenUsers.set(key, i)
  })
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
  const phone: Plain = isPlain(doc.phone) ? doc.phone : {}
  for (const key of ['user', 'usedBefore'] as const) {
    const named = phone[key]
    if (typeof named === 'string' && !seenUsers.has(named.toLowerCase()))
      out.push({
        pointer: `/phone/${key}`,
        message: `"${named}" is not the sign-in address of a user of this scenario (/users)`,
      })
  }
  const seenHosts = new Map<string, number>()
  arrayOf<{ name: string }>(doc.hosts, (h) => isPlain(h) && typeof h.name === 'string').forEach((h, i) => {
    if (!h) return
    const first = seenHosts.get(h.name.toLowerCase())
    if (first !== undefined)
      out.push({ pointer: `/hosts/${i}/name`, message: `duplicate of /hosts/${first}` })
    else seenHosts.set(h.name.toLowerCase(), i)
  })
  const dhcpDomain = isPlain(doc.site) ? doc.site.dhcpDomain : undefined
  if (typeof dhcpDomain === 'string' && meansNothing(dhcpDomain))
    out.push({
      pointer: '/site/dhcpDomain',
      message: NOTHING_WORD(dhcpDomain, 'to send no option 15 write servers.dhcp.domainName: ""'),
    })
  if (isPlain(doc.network) && doc.network.mode === 'interface' && doc.network.interface === undefined) {
    out.push({
      pointer: '/network',
      message: 'interface mode needs network.interface (the NIC the phones are on)',
    })
  }
  return out
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
