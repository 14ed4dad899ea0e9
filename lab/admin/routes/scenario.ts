import { readdirSync, realpathSync } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { ScenarioError } from '../../../core/errors.js'
import { packageRoot } from '../../paths.js'
import type { Lab } from '../../runtime.js'
import { loadScenario } from '../../scenario/load.js'
import type { Scenario } from '../../scenario/model.js'
import { badRequest } from '../http.js'

/** A scenario as the admin API shows it: every password replaced. */
export function redactScenario(scenario: Scenario): Scenario {
  const phone =
    scenario.phone.password === undefined ? scenario.phone : { ...scenario.phone, password: '(hidden)' }
  return { ...scenario, users: scenario.users.map((u) => ({ ...u, password: '(hidden)' })), phone }
}

/** Whether a path (and, if it exists, what its links lead to) lies inside one of the folders. */
export function scenarioFileAllowed(file: string, folders: readonly string[]): boolean {
  const inside = (p: string): boolean => folders.some((d) => p.startsWith(`${d}${sep}`))
  if (!inside(file)) return false
  try {
    return inside(realpathSync(file))
  } catch {
    return true // a file that does not exist is the loader's to report, inside an allowed folder
  }
}

/** The catalogue, and the folder of the scenario in force (a QA team's own files). */
function scenarioFolders(lab: Lab): string[] {
  return [...new Set([join(packageRoot(), 'scenarios'), dirname(lab.scenario.file)].map((d) => resolve(d)))]
}

function listScenarios(folders: readonly string[]): { name: string; path: string }[] {
  return folders.flatMap((d) => {
    let files: string[]
    try {
      files = readdirSync(d).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    } catch {
      files = []
    }
    return files.sort().map((f) => ({ name: f.replace(/\.ya?ml$/, ''), path: join(d, f) }))
  })
}

/** YAML sent as text (text/yaml), or JSON naming the text or a file. */
const Body = Type.Union([
  Type.String({ minLength: 1 }),
  Type.Object(
    {
      yaml: Type.String({ minLength: 1 }),
      from: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 300,
          description: 'The file the sender read it from (shown only).',
        }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object({ path: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
])

/** The scenario in force (passwords hidden), the ones that can be loaded, and loading one without a restart. */
export const scenarioRoutes: FastifyPluginAsync<{ lab: Lab }> = async (app, { lab }) => {
  // Files by path only from the catalogue and the folder of the scenario the lab started with (ADR 0011):
  // the API must not read any file the lab process can.
  const folders = scenarioFolders(lab)
  app.get('/scenario', async () => ({
    name: lab.scenario.name,
    file: lab.scenario.file,
    ...(lab.scenario.postedFrom !== undefined ? { postedFrom: lab.scenario.postedFrom } : {}),
    scenario: redactScenario(lab.scenario),
  }))
  app.get('/scenarios', async () => ({ scenarios: listScenarios(scenarioFolders(lab)) }))

  app.post<{ Body: Static<typeof Body> }>(
    '/scenario',
    {
      schema: { body: Body },
      config: {
        does: 'load a scenario (send YAML as text/yaml, or JSON {"yaml": "…"} or {"path": "file.yaml"})',
      },
    },
    async (req, reply) => {
      const base = dirname(lab.scenario.file)
      const body = req.body
      if (
        typeof body === 'object' &&
        'path' in body &&
        !scenarioFileAllowed(resolve(base, body.path), folders)
      )
        return reply.code(403).send({
          error: `only scenario files under ${folders.join(' or ')} can be loaded by path; send other scenarios as YAML`,
          problems: [],
        })
      let next: Scenario
      try {
        if (typeof body === 'string') next = loadScenario('<admin>', body, base)
        else if ('yaml' in body) {
          const posted = loadScenario('<admin>', body.yaml, base)
          next = body.from !== undefined ? { ...posted, postedFrom: body.from } : posted
        } else next = loadScenario(body.path, undefined, base)
      } catch (err) {
        if (err instanceof ScenarioError) return badRequest(reply, err.message, [...err.problems])
        throw err
      }
      try {
        await lab.reload(next)
      } catch (err) {
        return reply.code(409).send({ error: (err as Error).message, problems: [] })
      }
      return { name: next.name, file: next.file, endpoints: lab.endpoints() }
    },
  )
}
