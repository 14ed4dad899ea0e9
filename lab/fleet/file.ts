import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { ScenarioError, type ScenarioProblem } from '../../core/errors.js'
import { locate, readYamlSource, schemaProblemsAt } from '../scenario/yaml-source.js'

/** Where a lab's admin token is read from: never the fleet file itself, which gets copied and committed. */
const TokenSchema = Type.Union(
  [
    Type.Object(
      { env: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }) },
      { additionalProperties: false },
    ),
    Type.Object({ file: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  ],
  { description: 'The lab’s admin token: `env: NAME` or `file: PATH` (relative to the fleet file).' },
)

const FleetLabSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Names the lab in the view.' }),
    site: Type.Optional(
      Type.String({ maxLength: 200, description: 'Where it stands: a VLAN, a room, a class.' }),
    ),
    admin: Type.String({ pattern: '^https?://', description: 'The lab’s admin API (its --admin address).' }),
    token: Type.Optional(TokenSchema),
  },
  { additionalProperties: false },
)

export const FleetSchema = Type.Object(
  {
    title: Type.Optional(Type.String({ maxLength: 200 })),
    labs: Type.Array(FleetLabSchema, { minItems: 1, maxItems: 200 }),
  },
  { additionalProperties: false },
)

export interface FleetLab {
  readonly name: string
  readonly site?: string
  readonly admin: string
  /** The token as read when the file was loaded; undefined for a lab on loopback that asks for none. */
  readonly token?: string
}

export interface Fleet {
  readonly file: string
  readonly title: string
  readonly labs: readonly FleetLab[]
}

type LabDoc = Static<typeof FleetLabSchema>

/** Reads a lab's token from where the file says; a missing one is a problem at the `token` field. */
function tokenOf(lab: LabDoc, dir: string, env: NodeJS.ProcessEnv): string | { problem: string } | undefined {
  if (lab.token === undefined) return undefined
  if ('env' in lab.token) {
    const value = env[lab.token.env]
    return value ? value : { problem: `the environment has no ${lab.token.env}` }
  }
  try {
    const value = readFileSync(resolve(dir, lab.token.file), 'utf8').trim()
    return value ? value : { problem: `${lab.token.file} is empty` }
  } catch (err) {
    return { problem: `cannot read ${lab.token.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }
  }
}

/**
 * A fleet file (ADR 0029): the labs a fleet view shows, each by its admin API and where its token is read.
 * Problems name the file, line and field, as a scenario's do; tokens named by `env` are read from `env`.
 */
export function loadFleet(file: string, text?: string, env: NodeJS.ProcessEnv = process.env): Fleet {
  const name = resolve(file)
  const read = readYamlSource(name, text, 'a fleet file')
  if (!read.source || read.problems.length > 0) throw new ScenarioError(read.problems, 'fleet file')
  const sources = [read.source]
  const problems: ScenarioProblem[] = schemaProblemsAt(sources, FleetSchema, read.data)
  if (problems.length > 0) throw new ScenarioError(problems, 'fleet file')
  const doc = read.data as Static<typeof FleetSchema>
  const labs: FleetLab[] = []
  doc.labs.forEach((lab, i) => {
    const at = (pointer: string, message: string): void => {
      problems.push({ ...locate(sources, pointer), path: pointer, message })
    }
    if (doc.labs.findIndex((l) => l.name === lab.name) !== i)
      at(`/labs/${i}/name`, `${lab.name} is named twice`)
    const token = tokenOf(lab, dirname(name), env)
    if (typeof token === 'object') at(`/labs/${i}/token`, token.problem)
    const { token: _where, ...rest } = lab
    labs.push({ ...rest, ...(typeof token === 'string' ? { token } : {}) })
  })
  if (problems.length > 0) throw new ScenarioError(problems, 'fleet file')
  return { file: name, title: doc.title ?? 'cx700-lab fleet', labs }
}
