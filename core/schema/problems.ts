import type { ErrorObject } from 'ajv'
import type { TSchema } from '@sinclair/typebox'
import { validatorFor } from './ajv.js'

/** A problem with a value, as a JSON pointer (RFC 6901) into it and a message in words. */
export interface SchemaProblem {
  readonly pointer: string
  readonly message: string
}

export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
  return d[a.length]![b.length]!
}

export function didYouMean(word: string, options: readonly string[]): string {
  const best = options
    .map((o) => ({ o, d: editDistance(word.toLowerCase(), o.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)[0]
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean "${best.o}"?)` : ''
}

export function describeAjvError(
  e: ErrorObject,
): { pointer: string; key?: string; message: string } | undefined {
  const parent = e.parentSchema as { hint?: string; properties?: Record<string, unknown> } | undefined
  const p = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(p.additionalProperty)
      const properties = (parent?.properties ?? {}) as Record<string, { aliases?: readonly string[] }>
      const allowed = Object.keys(properties)
      const alias = allowed.find((k) =>
        properties[k]?.aliases?.some((a) => a.toLowerCase() === name.toLowerCase()),
      )
      const suggestion = alias !== undefined ? ` (did you mean "${alias}"?)` : didYouMean(name, allowed)
      return {
        pointer: e.instancePath,
        key: name,
        message: `unknown field "${name}"${suggestion || ` (allowed: ${allowed.join(', ')})`}`,
      }
    }
    case 'required':
      return { pointer: e.instancePath, message: `missing required field "${String(p.missingProperty)}"` }
    case 'enum':
      return {
        pointer: e.instancePath,
        message: `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}`,
      }
    case 'const':
      return { pointer: e.instancePath, message: `must be ${JSON.stringify(p.allowedValue)}` }
    case 'discriminator': {
      const tag = String(p.tag)
      if (p.error === 'mapping') {
        const kinds = (
          (e.parentSchema as { oneOf?: { properties: Record<string, { const: string }> }[] } | undefined)
            ?.oneOf ?? []
        )
          .map((b) => b.properties[tag]?.const)
          .filter((k): k is string => typeof k === 'string')
        return {
          pointer: `${e.instancePath}/${tag}`,
          message: `unknown ${tag} "${String(p.tagValue)}" (one of: ${kinds.join(', ')})`,
        }
      }
      return { pointer: `${e.instancePath}/${tag}`, message: `"${tag}" must be a string` }
    }
    case 'oneOf':
    case 'anyOf':
      return undefined // the branch errors say what is wrong
    case 'type':
      return {
        pointer: e.instancePath,
        message: `${e.message ?? 'has the wrong type'}${parent?.hint ? `: ${parent.hint}` : ''}`,
      }
    case 'pattern':
    case 'format':
      return {
        pointer: e.instancePath,
        message: parent?.hint ? `must be ${parent.hint}` : (e.message ?? 'is invalid'),
      }
    default:
      return { pointer: e.instancePath, message: e.message ?? 'is invalid' }
  }
}

/** Validates a value against a schema (defaults filled in place); returns every problem as path + message. */
export function schemaProblems(schema: TSchema, value: unknown): { path: string; message: string }[] {
  const validate = validatorFor(schema)
  if (validate(value)) return []
  const out: { path: string; message: string }[] = []
  for (const e of validate.errors ?? []) {
    const d = describeAjvError(e)
    if (d) out.push({ path: d.key !== undefined ? `${d.pointer}/${d.key}` : d.pointer, message: d.message })
  }
  return out
}
