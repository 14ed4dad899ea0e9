import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import type { ValidateFunction } from 'ajv'
import { createAjv, precompiledName } from '../../core/schema/ajv.js'
import { PRECOMPILED_SCHEMAS, precompileSchemas } from './precompile.js'
import { ScenarioSchema } from './schema.js'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** What a validator says of a document: valid, the errors, and the document with defaults filled in. */
function verdict(validate: ValidateFunction, doc: unknown): unknown {
  const copy = structuredClone(doc)
  const ok = validate(copy)
  return { ok, errors: validate.errors?.map((e) => [e.instancePath, e.keyword, e.message]), copy }
}

describe('validators compiled at build time', () => {
  it('say what the run-time compile says, defaults and every error included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx700-precompile-'))
    try {
      precompileSchemas(dir)
      const ajv = createAjv()
      const require = createRequire(import.meta.url)
      const make = require(join(dir, precompiledName(ScenarioSchema))) as (
        formats: unknown,
        require: NodeJS.Require,
      ) => ValidateFunction
      const built = make(ajv.formats, require)
      const compiled = ajv.compile(ScenarioSchema)
      const good = parse(readFileSync(join(root, 'scenarios', 'default.yaml'), 'utf8')) as object
      const documents = [
        good,
        { name: 'Bad Name', site: { subnet: '10.0.0.0/33' }, servers: { dns: { ttl: 'x' } } },
        { version: 2, users: [{ userName: 7 }], faults: [{ server: 'nope' }] },
        'not even an object',
      ]
      for (const doc of documents) expect(verdict(built, doc)).toEqual(verdict(compiled, doc))
      expect((verdict(built, good) as { ok: boolean }).ok).toBe(true)
      expect((verdict(built, documents[1]) as { errors: unknown[] }).errors.length).toBeGreaterThan(2)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('are in the build for every schema the lab validates at start', () => {
    // npm test builds first (pretest); the build writes one file per schema, named by its digest.
    for (const schema of PRECOMPILED_SCHEMAS)
      expect(existsSync(join(root, 'dist', 'core', 'schema', 'precompiled', precompiledName(schema)))).toBe(
        true,
      )
  })
})
