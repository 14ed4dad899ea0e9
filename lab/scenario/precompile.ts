import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TSchema } from '@sinclair/typebox'
import standalone from 'ajv/dist/standalone/index.js'
import { createAjv, precompiledName } from '../../core/schema/ajv.js'
import { FaultRuleSchema } from '../../core/faults/types.js'
import { DnsRecordInputSchema } from '../../servers/dns/schema.js'
import { PackSchema } from '../training/pack.js'
import { ScenarioSchema } from './schema.js'

/** The schemas every start (or every reload, or every pack) validates against: compiled at build time. */
export const PRECOMPILED_SCHEMAS: readonly TSchema[] = [
  ScenarioSchema,
  FaultRuleSchema,
  DnsRecordInputSchema,
  PackSchema,
]

/**
 * A schema's validator as Ajv's standalone code (CommonJS), wrapped so that it takes the formats of
 * `createAjv` and a `require` that finds Ajv's run-time helpers: the same code `compile` makes at run time,
 * made once by `npm run build`.
 */
export function standaloneValidator(schema: TSchema): string {
  const ajv = createAjv({ source: true })
  const code = standalone.default(ajv, ajv.compile(schema))
  return [
    "'use strict'",
    '// Made by npm run build from the schema whose digest names this file (lab/scenario/precompile.ts).',
    'module.exports = (formats, require) => {',
    'const module = { exports: {} }',
    code,
    'return module.exports',
    '}',
    '',
  ].join('\n')
}

/** Writes every validator into `dir` (core/schema/precompiled in dist), replacing what was there. */
export function precompileSchemas(dir: string): string[] {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const schema of PRECOMPILED_SCHEMAS)
    writeFileSync(join(dir, precompiledName(schema)), standaloneValidator(schema))
  return readdirSync(dir)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL('../../core/schema/precompiled/', import.meta.url))
  console.log(`precompiled ${precompileSchemas(dir).length} schema validators into ${dir}`)
}
