import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { _, Ajv, type ValidateFunction } from 'ajv'
import type { TSchema } from '@sinclair/typebox'
import { DURATION_MAX_MS, DURATION_PATTERN, parseDuration } from './common.js'

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(3[0-2]|[12]?\d)$/

/** The one configured validator: every error at once, defaults filled in, our formats and keywords known. */
export function createAjv(options: { readonly source?: boolean } = {}): Ajv {
  const ajv = new Ajv({
    ...(options.source === true ? { code: { source: true, formats: _`formats` } } : {}),
    allErrors: true,
    verbose: true,
    useDefaults: true,
    discriminator: true,
    strict: true,
    allowUnionTypes: true,
  })
  ajv.addFormat('ipv4', IPV4)
  ajv.addFormat('hostname', HOSTNAME)
  ajv.addFormat('hostname-or-empty', (s: string) => s === '' || HOSTNAME.test(s))
  ajv.addFormat('cidr', {
    validate: (s: string) =>
      CIDR.test(s) &&
      s
        .split('/')[0]!
        .split('.')
        .every((o) => Number(o) <= 255),
  })
  // A peer to match: an IPv4 address, an IPv4 CIDR block, or an IPv6 address as the socket reports it.
  ajv.addFormat('peer', {
    validate: (s: string) => {
      const [address = '', bits, ...rest] = s.split('/')
      if (rest.length > 0) return false
      if (bits === undefined)
        return IPV4.test(address) || (/^[0-9a-f:.]+$/i.test(address) && address.includes(':'))
      return IPV4.test(address) && /^(3[0-2]|[12]?\d)$/.test(bits)
    },
  })
  // A duration that also fits the clock: its pattern, and at most DURATION_MAX_MS either way.
  ajv.addFormat('duration', (s: string) => {
    if (!new RegExp(DURATION_PATTERN).test(s)) return false
    const ms = parseDuration(s)
    return Number.isFinite(ms) && Math.abs(ms) <= DURATION_MAX_MS
  })
  ajv.addFormat('date-time', {
    validate: (s: string) =>
      /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)),
  })
  // `hint` says in words what a value must look like; it does not validate anything itself.
  ajv.addKeyword({ keyword: 'hint', schemaType: 'string' })
  // `aliases`: names people write for a field (option15 for domainName); an unknown field suggests it.
  ajv.addKeyword({ keyword: 'aliases', schemaType: 'array' })
  return ajv
}

let shared: Ajv | undefined
const cache = new WeakMap<object, ValidateFunction>()

/** Where `npm run build` puts validators compiled ahead of time (beside this module, in dist). */
const PRECOMPILED_DIR = fileURLToPath(new URL('./precompiled/', import.meta.url))

/** The name of a schema's precompiled validator: a digest of the schema, so an edited schema never meets an old one. */
export function precompiledName(schema: TSchema): string {
  return `${createHash('sha256').update(JSON.stringify(schema)).digest('hex').slice(0, 24)}.cjs`
}

function loadPrecompiled(schema: TSchema, ajv: Ajv): ValidateFunction | undefined {
  const file = join(PRECOMPILED_DIR, precompiledName(schema))
  if (!existsSync(file)) return undefined
  const require = createRequire(import.meta.url)
  const make = require(file) as (formats: unknown, require: NodeJS.Require) => ValidateFunction
  return make(ajv.formats, require)
}

/** A validator for a schema, cached per schema object: precompiled at build time when there is one. */
export function validatorFor(schema: TSchema): ValidateFunction {
  shared ??= createAjv()
  let v = cache.get(schema)
  if (!v) {
    v = loadPrecompiled(schema, shared) ?? shared.compile(schema)
    cache.set(schema, v)
  }
  return v
}
