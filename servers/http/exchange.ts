import { readFileSync } from 'node:fs'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { findUser } from '../../core/auth/http.js'
import type { User } from '../../core/site.js'
import {
  poxAutodiscover,
  poxError,
  soapAutodiscover,
  type AutodiscoverContext,
  type ExchangeUrls,
} from './autodiscover.js'
import { answerOf, stateOf, type HttpContext, type HttpSlice } from './context.js'
import { ews } from './ews.js'
import { toneWav, type Attachment } from './mailbox.js'

/**
 * The Exchange 2007 doubles as fastify routes: Autodiscover (POX at /autodiscover/autodiscover.xml, SOAP at
 * /autodiscover/autodiscover.svc) and EWS at /EWS/Exchange.asmx. Protocol work is in autodiscover.ts and
 * ews.ts; here are the HTTP parts — URLs with the lab's HTTPS port, the redirect from plain HTTP, faults that
 * change an answer — and what the journal learns (operation, address, folder, response code).
 */

/**
 * The Exchange server's name and the URLs the lab hands out (with the port when it is not the scheme's own);
 * EWS over plain HTTP when the scenario says so (`ews.scheme`: the guide's "HTTP or HTTPS", spec §3.1).
 */
export function exchangeUrls(
  slice: HttpSlice,
  ports: { readonly https: number; readonly http: number },
): { server: string; urls: ExchangeUrls } {
  const server =
    slice.hosts.find((h) => h.roles.includes('exchange'))?.name ?? `mail.${slice.site.smtpDomain}`
  const base = `https://${server}${ports.https === 443 ? '' : `:${ports.https}`}`
  const plain = `http://${server}${ports.http === 80 ? '' : `:${ports.http}`}`
  return {
    server,
    urls: {
      ews: `${slice.block.ews.scheme === 'http' ? plain : base}/EWS/Exchange.asmx`,
      um: `${base}/UnifiedMessaging/Service.asmx`,
      oab: `${base}/OAB/${slice.site.smtpDomain}/`,
      owa: `${base}/owa/`,
    },
  }
}

/** An XML answer made not well-formed (the fault `answer: {xml: malformed}`): its last end tag is wrong. */
export function malformed(xml: string): string {
  const at = xml.lastIndexOf('</')
  return at < 0 ? `${xml}<` : `${xml.slice(0, at)}</broken-${xml.slice(at + 2)}`
}

const XML = 'text/xml; charset=utf-8'

/** The body as text (a JSON body, parsed by fastify, is not XML: it reads as empty, hence a protocol error). */
const bodyText = (req: FastifyRequest): string => (typeof req.body === 'string' ? req.body : '')

/** A voicemail attachment's audio: its file, or a tone of its length (kept, up to 64 lengths). */
function audioOf(): (a: Attachment) => Buffer {
  const tones = new Map<number, Buffer>()
  return (a) => {
    if (a.file !== undefined) return readFileSync(a.file)
    let wav = tones.get(a.durationSeconds)
    if (!wav) {
      wav = toneWav(a.durationSeconds)
      if (tones.size > 64) tones.clear()
      tones.set(a.durationSeconds, wav)
    }
    return wav
  }
}

function autodiscoverContext(ctx: HttpContext, req: FastifyRequest): AutodiscoverContext {
  const slice = ctx.config(req)
  const { server, urls } = exchangeUrls(slice, { https: ctx.httpsPort(), http: ctx.httpPort() })
  const dc = slice.hosts.find((h) => h.roles.includes('dc'))?.name ?? slice.site.adDomain
  return {
    users: slice.users,
    site: slice.site,
    server,
    dc,
    urls,
    protocols: slice.block.autodiscover.protocols,
    ewsUrlElements: slice.block.autodiscover.ewsUrlElements,
    now: new Date(ctx.deps.clock.now()),
    ...(answerOf(req).protocols === 'none' ? { noProtocol: true } : {}),
  }
}

function sendXml(req: FastifyRequest, reply: FastifyReply, status: number, xml: string): FastifyReply {
  return reply
    .code(status)
    .type(XML)
    .send(answerOf(req).xml === 'malformed' ? malformed(xml) : xml)
}

/** The redirect-loop fault: 302 to the other Autodiscover name, which answers the same. */
function loop(ctx: HttpContext, req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if (answerOf(req).redirect !== 'loop') return undefined
  const { site } = ctx.config(req)
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
  const port = ctx.httpsPort() === 443 ? '' : `:${ctx.httpsPort()}`
  const other = host.startsWith('autodiscover.') ? site.smtpDomain : `autodiscover.${site.smtpDomain}`
  stateOf(req).code = 'redirect loop'
  return reply.redirect(`https://${other}${port}${req.url}`, 302)
}

/** A route the scenario turned off answers 404, as if no such virtual directory were there. */
const disabled = (ctx: HttpContext, reply: FastifyReply, on: boolean): FastifyReply | undefined =>
  on ? undefined : ctx.notFound(reply)

function autodiscoverRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/autodiscover/autodiscover.xml', async (req, reply) => {
    const off = disabled(ctx, reply, ctx.config(req).block.autodiscover.enabled)
    if (off) return off
    stateOf(req).operation = 'Autodiscover (GET)'
    // Authenticated GET: Exchange answers with the POX error for a request it cannot read.
    return sendXml(req, reply, 200, poxError(600, 'Invalid Request', new Date(ctx.deps.clock.now())))
  })

  app.post('/autodiscover/autodiscover.xml', async (req, reply) => {
    const s = stateOf(req)
    const off = disabled(ctx, reply, ctx.config(req).block.autodiscover.enabled)
    if (off) return off
    s.operation = 'Autodiscover'
    const looped = loop(ctx, req, reply)
    if (looped) return looped
    const answer = poxAutodiscover(s.xml ?? bodyText(req), autodiscoverContext(ctx, req))
    if (answer.address !== undefined) s.address = answer.address
    if (answer.error !== undefined) s.code = answer.error
    return sendXml(req, reply, 200, answer.xml)
  })

  app.post('/autodiscover/autodiscover.svc', async (req, reply) => {
    const s = stateOf(req)
    const { autodiscover } = ctx.config(req).block
    const off = disabled(ctx, reply, autodiscover.enabled && autodiscover.soap)
    if (off) return off
    const looped = loop(ctx, req, reply)
    if (looped) return looped
    const answer = soapAutodiscover(s.xml ?? bodyText(req), autodiscoverContext(ctx, req))
    s.operation = answer.operation
    if (answer.address !== undefined) s.address = answer.address
    if (answer.error !== undefined) s.code = answer.error
    return sendXml(req, reply, answer.status, answer.xml)
  })
}

function ewsRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const audio = audioOf()
  const userOf = (req: FastifyRequest): User | undefined => {
    const name = stateOf(req).user
    return name === undefined ? undefined : findUser(ctx.config(req).users, name)
  }
  app.get('/EWS/Exchange.asmx', async (req, reply) => {
    const off = disabled(ctx, reply, ctx.config(req).block.ews.enabled)
    if (off) return off
    stateOf(req).operation = 'GET'
    return reply
      .type('text/html; charset=utf-8')
      .send(
        '<html><body><p>You have created a service.</p><p>Exchange Web Services (lab double)</p></body></html>',
      )
  })

  app.post('/EWS/Exchange.asmx', async (req, reply) => {
    const s = stateOf(req)
    const slice = ctx.config(req)
    const off = disabled(ctx, reply, slice.block.ews.enabled)
    if (off) return off
    // Without authentication a request with no credentials reads the first user's mailbox.
    const user = userOf(req) ?? (slice.block.ews.authentication ? undefined : slice.users[0])
    const code = answerOf(req).responseCode
    const answer = ews(s.xml ?? bodyText(req), {
      mailbox: user ? ctx.mailbox(user) : undefined,
      users: slice.users,
      audio,
      ...(typeof code === 'string' ? { responseCode: code } : {}),
    })
    s.operation = answer.operation
    if (answer.folder !== undefined) s.folder = answer.folder
    if (answer.items !== undefined) s.items = answer.items
    if (answer.code !== undefined) s.code = answer.code
    if (user && s.user === undefined) s.user = user.signInAddress
    return sendXml(req, reply, answer.status, answer.xml)
  })
}

export function exchangeRoutes(app: FastifyInstance, ctx: HttpContext): void {
  autodiscoverRoutes(app, ctx)
  ewsRoutes(app, ctx)
}
