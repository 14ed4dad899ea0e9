import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs'
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document } from 'yaml'
import type { ScenarioProblem } from '../../core/errors.js'
import { validatorFor } from '../../core/schema/ajv.js'
import { describeAjvError } from '../../core/schema/problems.js'
import type { TSchema } from '@sinclair/typebox'

/** One YAML file as read: its parsed document and where each line begins (for file:line:col). */
export interface Source {
  readonly file: string
  readonly doc: Document
  readonly lines: LineCounter
}

export function pointerSegments(pointer: string): (string | number)[] {
  if (pointer === '') return []
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

/** Where in the files a JSON pointer (or, with `key`, a key of the object there) was written. */
export function locate(
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
function readBoundedText(file: string): { text: string } | { problem: string } {
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

/**
 * Reads one YAML file (a scenario, an exercise pack) with every guard a hostile file needs: a regular file of
 * bounded size, bounded nesting and aliases, no prototype keys, YAML errors with their line. `data` is
 * undefined when the file could not be read as a mapping.
 */
export function readYamlSource(
  file: string,
  text: string | undefined,
  what = 'a scenario',
): { source: Source | undefined; data: unknown; problems: ScenarioProblem[] } {
  const problems: ScenarioProblem[] = []
  /** The chain stops at a problem with the whole file (read at line 1). */
  const stop = (sources: Source[], message: string) => ({
    source: sources[0],
    data: undefined,
    problems: [{ file, line: 1, col: 1, path: '', message }],
  })
  const read = text !== undefined ? { text } : readBoundedText(file)
  if ('problem' in read) return stop([], `cannot read the file: ${read.problem}`)
  const body = read.text
  if (body.length > SCENARIO_MAX)
    return stop([], `is ${body.length} characters; ${what} has at most ${SCENARIO_MAX}`)
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
  if (problems.length > 0) return { source, data: undefined, problems }
  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: ALIAS_MAX })
  } catch (err) {
    // The yaml library's guard against alias bombs ("Excessive alias count …").
    return stop([source], `YAML: ${(err as Error).message} (at most ${ALIAS_MAX} alias uses)`)
  }
  if (!isPlain(data)) {
    return {
      source,
      data,
      problems: [
        { file, line: 1, col: 1, path: '', message: `${what} must be a YAML mapping (key: value lines)` },
      ],
    }
  }
  return { source, data, problems }
}

/** The schema's problems with a document, each at its file:line:col. */
export function schemaProblemsAt(
  sources: readonly Source[],
  schema: TSchema,
  data: unknown,
): ScenarioProblem[] {
  const validate = validatorFor(schema)
  if (validate(data)) return []
  const out: ScenarioProblem[] = []
  for (const e of validate.errors ?? []) {
    const d = describeAjvError(e)
    if (!d) continue
    const path = d.key !== undefined ? `${d.pointer}/${d.key}` : d.pointer
    if (out.some((p) => p.path === path && p.message === d.message)) continue
    out.push({ ...locate(sources, d.pointer, d.key), path, message: d.message })
  }
  return out
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
