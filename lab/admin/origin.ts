import { hostname } from 'node:os'
import { isIP } from 'node:net'
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'

/**
 * What a browser on the operator's machine may do to the admin API and the training pages: only what a page
 * of their own origin does. The lab's HTTP is plain and, on loopback, without a token, so two checks hold it
 * against any other page the operator opens (docs/reliability.md, "a browser on the same host"):
 * - the Host must be one the API is reached by — an IP literal, `localhost`, this machine's name, or a name
 *   it was told to listen as — so a DNS-rebinding page (its own name resolving to 127.0.0.1) reads nothing;
 * - a request a browser marks as coming from another origin (`Origin`, `Sec-Fetch-Site`) is refused, reads
 *   and state changes alike; no CORS header is ever sent, and bodies are taken only as JSON or YAML.
 * A client that is not a browser (the CLI, curl, a script) sends neither header and is not affected.
 */
export function requestChecks(names: readonly string[]): onRequestAsyncHookHandler {
  const known = new Set(['localhost', hostname().toLowerCase(), ...names.map((n) => n.toLowerCase())])
  return async (req, reply) => {
    const problem = hostProblem(req.headers.host, known) ?? originProblem(req)
    if (problem !== undefined) await refuse(reply, problem)
  }
}

/** The host part of a Host header (`[::1]:8080` → `::1`, `lab.test:80` → `lab.test`). */
function hostName(header: string): string {
  const h = header.trim().toLowerCase()
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'))
  const colon = h.lastIndexOf(':')
  return colon < 0 ? h : h.slice(0, colon)
}

function hostProblem(header: string | undefined, known: ReadonlySet<string>): string | undefined {
  if (header === undefined) return undefined
  const name = hostName(header)
  if (isIP(name) !== 0 || known.has(name)) return undefined
  return `Host ${JSON.stringify(header.slice(0, 100))} is not a name this lab's admin API answers to`
}

function originProblem(req: FastifyRequest): string | undefined {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `a ${site} request from a web page may not use the admin API`
  const origin = req.headers.origin
  if (origin === undefined) return undefined
  let from: string
  try {
    from = new URL(origin).host.toLowerCase()
  } catch {
    return `a request from origin ${JSON.stringify(origin.slice(0, 100))} may not use the admin API`
  }
  return from === (req.headers.host ?? '').toLowerCase()
    ? undefined
    : `a request from another origin (${origin.slice(0, 100)}) may not use the admin API`
}

async function refuse(reply: FastifyReply, error: string): Promise<void> {
  await reply.code(403).send({ error })
}
