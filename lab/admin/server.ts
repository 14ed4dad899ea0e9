import { BOOT_STAGES, type BootStage } from '../../core/journal/events.js'
import { captureKey, deviceCapture } from './capture.js'
import { trainingRoutes } from './training.js'
import type { TrainingSession } from '../training/session.js'
import { readdirSync, realpathSync } from 'node:fs'
import { packageRoot } from '../paths.js'
import { dashboardPage, timelineHtml } from './dashboard.js'
import { asGolden, diffGolden, goldenOf, type GoldenTimeline } from './golden.js'
import { parseDuration } from '../../core/schema/common.js'
import { buildTimelines, type DeviceTimeline } from './timeline.js'
import { clockRoutes } from './clock-routes.js'
import { phoneCommandRoutes } from './phone-commands.js'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { isIP, isIPv4, isIPv6 } from 'node:net'
import { dirname, join, resolve, sep } from 'node:path'
import { PassThrough } from 'node:stream'
import type { Scenario } from '../scenario/model.js'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { LabError, ScenarioError } from '../../core/errors.js'
import { FaultRuleSchema, type FaultRule } from '../../core/faults/types.js'
import { matchesFilter, type JournalFilter } from '../../core/journal/journal.js'
import type { Lab } from '../runtime.js'
import { loadScenario } from '../scenario/load.js'
import { schemaProblems } from '../../core/schema/problems.js'
import { bindError } from '../../core/net/udp.js'
import { certificatePem, signatureHash } from '../../certs/export.js'

export interface AdminOptions {
  readonly host: string
  readonly port: number
  /** Listen on this unix socket instead of host:port (interface mode: the host proxies to it). */
  readonly path?: string
  /** Required when host is not loopback; generated if not given. */
  readonly token?: string
  /** A training session (cx700-lab train PACK): the trainer's /training routes and the trainees' pages. */
  readonly training?: TrainingSession
}

export interface AdminServer extends AsyncDisposable {
  readonly url: string
  /** The bearer token, when one is required. */
  readonly token: string | undefined
  readonly app: FastifyInstance
  close(): Promise<void>
}

/** A loopback address: 127.0.0.0/8, ::1, or an IPv4-mapped 127.x. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.replace(/^::ffff:/i, '')
  if (isIPv4(v4)) return v4.startsWith('127.')
  return isIPv6(address) && /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(address)
}

/**
 * Whether a host the admin API is asked to listen on is loopback, decided on addresses, never on the name:
 * a name counts only when every address it resolves to is loopback (127.evil.test is not).
 */
export async function isLoopbackHost(host: string): Promise<boolean> {
  if (isIP(host)) return isLoopbackAddress(host)
  try {
    const addresses = await lookup(host, { all: true })
    return addresses.length > 0 && addresses.every((a) => isLoopbackAddress(a.address))
  } catch {
    return false
  }
}

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

function journalFilter(q: Record<string, string | undefined>): JournalFilter {
  const f: { -readonly [K in keyof JournalFilter]: JournalFilter[K] } = {}
  if (q.device) f.device = q.device
  if (q.server) f.server = q.server
  if (q.kind) f.kind = q.kind
  if (q.afterSeq && /^\d+$/.test(q.afterSeq)) f.afterSeq = Number(q.afterSeq)
  if (q.since) f.since = /^\d+$/.test(q.since) ? Number(q.since) : q.since
  if (q.until) f.until = /^\d+$/.test(q.until) ? Number(q.until) : q.until
  return f
}

function badRequest(reply: FastifyReply, error: string, problems: unknown[] = []): FastifyReply {
  return reply.code(400).send({ error, problems })
}

/**
 * The admin API: one control plane for every protocol. Loopback by default; on any other address every
 * route but /health needs `Authorization: Bearer <token>`.
 */
export async function startAdmin(lab: Lab, options: AdminOptions): Promise<AdminServer> {
  const needsToken = options.path === undefined && !(await isLoopbackHost(options.host))
  const token = needsToken ? (options.token ?? randomBytes(18).toString('base64url')) : undefined
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1024 * 1024 })
  app.addContentTypeParser(
    ['text/yaml', 'application/yaml', 'application/x-yaml', 'text/plain'],
    { parseAs: 'string' },
    (_req, body, done) => done(null, body),
  )

  if (token !== undefined) {
    const expected = Buffer.from(`Bearer ${token}`)
    app.addHook('onRequest', async (req, reply) => {
      // The page itself carries no data; what it reads needs the token (it takes one from #token=…).
      // Trainees' routes take their own tokens (lab/admin/training.ts), never the admin one.
      if (req.url === '/health' || req.url === '/' || req.url === '/dashboard') return
      if (req.url === '/trainee' || req.url.startsWith('/trainee/') || req.url.startsWith('/trainee#')) return
      const given = Buffer.from(req.headers.authorization ?? '')
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        await reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'a bearer token is required (printed when the lab started)' })
      }
    })
  }

  app.get('/health', async (_req, reply) => {
    const h = lab.health()
    return reply.code(h.ok ? 200 : 503).send(h)
  })

  app.get('/endpoints', async () => ({
    scenario: lab.scenario.name,
    mode: lab.network.mode,
    endpoints: lab.endpoints(),
    // Where this lab keeps its CA and its emulated phones' state (cx700-lab phone keeps phones beside it).
    stateDir: lab.stateDir,
    scenarioFile: lab.scenario.file,
    siteAddresses: lab.siteAddresses(),
  }))

  app.get('/devices', async () => ({ devices: lab.journal.devices.list() }))

  // Packet captures per device and stage (pcapng with the TLS secrets, for Wireshark).
  app.get('/capture', async () => ({ options: lab.capture.options, devices: lab.capture.devices() }))
  app.get<{ Params: { device: string }; Querystring: { stage?: string } }>(
    '/capture/:device',
    async (req, reply) => {
      const stage = req.query.stage
      if (stage !== undefined && !(BOOT_STAGES as readonly string[]).includes(stage))
        return reply.code(400).send({ error: `no stage ${stage}: one of ${BOOT_STAGES.join(', ')}` })
      const found = deviceCapture(
        lab.capture,
        lab.journal.query({}, 100_000),
        { device: req.params.device, ...(stage !== undefined ? { stage: stage as BootStage } : {}) },
        lab.endpoints(),
      )
      if (!found)
        return reply.code(404).send({
          error: lab.capture.enabled
            ? `nothing captured for ${req.params.device} (GET /capture lists the devices)`
            : 'captures are off in this lab (cx700-lab up --capture-mb 0)',
        })
      const name = `cx700-${captureKey(req.params.device).replace(/[^a-zA-Z0-9.-]+/g, '-')}${stage ? `-${stage.replace(/[^a-zA-Z]+/g, '')}` : ''}`
      return reply
        .type('application/x-pcapng')
        .header('content-disposition', `attachment; filename="${name}.pcapng"`)
        .header('x-capture-frames', String(found.frames))
        .header('x-capture-secrets-withheld', String(found.withheld))
        .send(Buffer.from(found.bytes))
    },
  )

  // The lab PKI as a QA engineer wants to see it: certificates only, never a private key.
  app.get('/pki', async () => {
    const pki = lab.pki
    const describe = (c: (typeof pki.chain)[number]) => ({
      subject: c.subject,
      issuer: c.issuer,
      serial: c.serialNumber,
      notBefore: c.notBefore.toISOString(),
      notAfter: c.notAfter.toISOString(),
      signature: signatureHash(c),
      pem: certificatePem(c),
    })
    return {
      chain: pki.chain.map(describe),
      servers: pki.servers.map((s) => ({
        host: s.host,
        names: s.dnsNames,
        addresses: s.ipAddresses,
        profile: s.profile,
        certificate: describe(s.certificate),
      })),
    }
  })

  lab.registerRoutes(app)

  // Never a password: the admin API may be open on loopback without a token.
  app.get('/scenario', async () => ({
    name: lab.scenario.name,
    file: lab.scenario.file,
    scenario: redactScenario(lab.scenario),
  }))

  // Scenario files by path only from the catalogue and the folder of the file the lab was started with
  // (ADR 0011): the API must not read any file the lab process can.
  const scenarioFolders = [join(packageRoot(), 'scenarios'), dirname(lab.scenario.file)].map((d) =>
    resolve(d),
  )

  app.post('/scenario', async (req, reply) => {
    const body = req.body
    let text: string | undefined
    let path: string | undefined
    if (typeof body === 'string') text = body
    else if (typeof body === 'object' && body !== null) {
      const b = body as { yaml?: unknown; path?: unknown }
      if (typeof b.yaml === 'string') text = b.yaml
      else if (typeof b.path === 'string') path = b.path
    }
    if (text === undefined && path === undefined) {
      return badRequest(
        reply,
        'send the scenario as YAML text (Content-Type: text/yaml), or JSON {"yaml": "..."} or {"path": "file.yaml"}',
      )
    }
    if (
      path !== undefined &&
      !scenarioFileAllowed(resolve(dirname(lab.scenario.file), path), scenarioFolders)
    )
      return reply.code(403).send({
        error: `only scenario files under ${scenarioFolders.join(' or ')} can be loaded by path; send other scenarios as YAML`,
        problems: [],
      })
    let next
    try {
      next =
        path !== undefined
          ? loadScenario(path, undefined, dirname(lab.scenario.file))
          : loadScenario('<admin>', text, dirname(lab.scenario.file))
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
  })

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(dashboardPage()))
  app.get('/dashboard', async (_req, reply) => reply.redirect('/', 302))

  const timelineOf = (key: string): DeviceTimeline | undefined =>
    buildTimelines(lab.journal.query({}, 100_000), lab.clock.now()).find((d) => d.key === key)
  const noDevice = (reply: FastifyReply, key: string): FastifyReply =>
    reply.code(404).send({ error: `no device ${key} in the journal (GET /timeline lists them)` })

  app.get('/timeline', async () => ({
    devices: buildTimelines(lab.journal.query({}, 100_000), lab.clock.now()),
  }))

  app.get<{ Params: { key: string }; Querystring: { format?: string } }>(
    '/timeline/:key',
    async (req, reply) => {
      const t = timelineOf(req.params.key)
      if (!t) return noDevice(reply, req.params.key)
      const name = `cx700-timeline-${t.key.replace(/[^a-zA-Z0-9.-]+/g, '_')}`
      if (req.query.format === 'html')
        return reply
          .type('text/html; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}.html"`)
          .send(timelineHtml(t, lab.scenario.name))
      return reply.header('content-disposition', `inline; filename="${name}.json"`).send(t)
    },
  )

  // A device's last boot against a golden timeline (the dashboard's "Compare with a golden file").
  app.post<{ Params: { key: string }; Body: { golden?: unknown; tolerance?: string } }>(
    '/timeline/:key/diff',
    async (req, reply) => {
      const t = timelineOf(req.params.key)
      if (!t) return noDevice(reply, req.params.key)
      let golden: GoldenTimeline
      let toleranceMs: number
      try {
        golden = asGolden(req.body?.golden)
        toleranceMs = parseDuration(req.body?.tolerance ?? '2s')
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message })
      }
      return {
        device: t.key,
        against: golden.device,
        differences: diffGolden(golden, goldenOf(t), toleranceMs),
      }
    },
  )

  app.get('/scenarios', async () => {
    // The catalogue, and the folder of the scenario in force (a QA team's own files).
    const dirs = [...new Set([join(packageRoot(), 'scenarios'), dirname(lab.scenario.file)])]
    const scenarios: { name: string; path: string }[] = []
    for (const d of dirs) {
      let files: string[]
      try {
        files = readdirSync(d).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      } catch {
        files = []
      }
      for (const f of files.sort()) scenarios.push({ name: f.replace(/\.ya?ml$/, ''), path: join(d, f) })
    }
    return { scenarios }
  })

  clockRoutes(app, lab.clock)
  phoneCommandRoutes(app, lab.phoneCommands)
  trainingRoutes(app, lab, options.training)

  app.get('/faults', async () => ({ faults: lab.faults.list() }))

  // The scenario's script: how many steps, which fired when, which is next.
  app.get('/script', async () => ({ script: lab.script?.status() ?? { steps: 0, fired: [], paused: false } }))
  for (const verb of ['pause', 'resume', 'skip', 'restart'] as const)
    app.post(`/script/${verb}`, async (_req, reply) => {
      const script = lab.script
      if (!script) return reply.code(404).send({ error: 'the scenario has no script', problems: [] })
      script[verb]()
      return { script: script.status() }
    })

  app.post('/faults', async (req, reply) => {
    const rule: unknown = structuredClone(req.body)
    const problems = schemaProblems(FaultRuleSchema, rule)
    if (problems.length > 0) return badRequest(reply, 'Failed to add fault: the rule is invalid.', problems)
    try {
      return await reply.code(201).send(lab.faults.add(rule as FaultRule))
    } catch (err) {
      if (err instanceof LabError && err.code === 'LAB_ERR_FAULT_INVALID') {
        return badRequest(reply, err.message, (err as LabError & { problems?: unknown[] }).problems ?? [])
      }
      throw err
    }
  })

  app.delete('/faults', async () => ({ cleared: lab.faults.clear() }))

  app.delete<{ Params: { id: string } }>('/faults/:id', async (req, reply) => {
    try {
      lab.faults.remove(req.params.id)
      return await reply.code(204).send()
    } catch (err) {
      if (err instanceof LabError && err.code === 'LAB_ERR_FAULT_NOT_FOUND')
        return reply.code(404).send({ error: err.message })
      throw err
    }
  })

  app.get<{ Querystring: Record<string, string | undefined> }>('/journal', async (req, reply) => {
    const q = req.query
    const filter = journalFilter(q)
    const limit = q.limit && /^\d+$/.test(q.limit) ? Math.min(Number(q.limit), 100_000) : 1000
    if (q.follow !== '1' && q.follow !== 'true') {
      // Past what memory holds, the journal's files answer (lastSeq first: the events are up to it or later).
      const lastSeq = lab.journal.lastSeq
      return { lastSeq, events: await lab.journal.queryAll(filter, limit) }
    }
    const stream = new PassThrough()
    const backlog = lab.journal.query(filter, limit)
    for (const e of backlog) stream.write(JSON.stringify(e) + '\n')
    const unsubscribe = lab.journal.subscribe((e) => {
      if (matchesFilter(e, filter)) stream.write(JSON.stringify(e) + '\n')
    })
    req.raw.on('close', () => {
      unsubscribe()
      stream.end()
    })
    return reply.type('application/x-ndjson').send(stream)
  })

  // Server-sent events: every new journal event as one `data:` line (the dashboard's live feed).
  app.get('/journal/events', async (req, reply) => {
    const stream = new PassThrough()
    stream.write(': cx700-lab journal\n\n')
    const unsubscribe = lab.journal.subscribe((e) =>
      stream.write(`id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`),
    )
    req.raw.on('close', () => {
      unsubscribe()
      stream.end()
    })
    return reply.type('text/event-stream').header('cache-control', 'no-cache').send(stream)
  })

  app.post('/journal/clear', async (_req, reply) => {
    lab.journal.clear()
    return reply.code(204).send()
  })

  try {
    await app.listen(
      options.path !== undefined ? { path: options.path } : { host: options.host, port: options.port },
    )
  } catch (cause) {
    await app.close()
    throw bindError('the admin API', 'tcp', options.host, options.port, cause)
  }
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr ? addr.port : options.port
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  const close = async (): Promise<void> => {
    await app.close()
  }
  const url = options.path !== undefined ? `unix:${options.path}` : `http://${host}:${port}`
  return { url, token, app, close, [Symbol.asyncDispose]: close }
}
