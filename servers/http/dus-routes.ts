import { readFileInside } from '../../core/files.js'
import { join } from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LabDecodeError } from '../../core/errors.js'
import { stateOf, type HttpContext } from './context.js'
import { decide, dusResponse, mimeType, parseDusRequest, parseFilePath, standInFile } from './dus.js'

/**
 * The Device Update Service as fastify routes (spec §6): `POST /RequestHandler/ucdevice.upx` on 80 and 443,
 * `POST /RequestHandlerExt/ucdevice.upx` on 443 only, and the update files under DeviceUpdateFiles_Int and
 * _Ext with IIS's MIME types. No authentication: a phone that has never signed in asks too (§6.1).
 */
export function dusRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const upx = async (req: FastifyRequest, reply: FastifyReply, external: boolean): Promise<FastifyReply> => {
    const { dus } = ctx.config(req).block
    if (!dus.enabled) return ctx.notFound(reply)
    const s = stateOf(req)
    s.operation = external ? 'ucdevice.upx (external)' : 'ucdevice.upx'
    if (external && req.protocol !== 'https')
      return reply
        .code(403)
        .type('text/html')
        .send('<html><body><h1>403.4 - Forbidden: SSL is required to view this resource.</h1></body></html>')
    let request
    try {
      request = parseDusRequest(s.xml ?? (typeof req.body === 'string' ? req.body : ''))
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      s.code = `bad request: ${err.message}`
      return reply.code(400).type('text/html').send('<html><body><h1>400 - Bad Request</h1></body></html>')
    }
    const decision = decide(request, dus)
    const urls = dus.downloadUrls === 'blank' ? undefined : poolUrls(ctx, req)
    // An offer without download URLs is what a site whose DUS settings were never filled in sends (F19).
    const blank = urls === undefined && decision.outcome === 'update' ? ', download URLs blank' : ''
    s.code = `${decision.outcome}: ${decision.current || '?'} → ${decision.offered || '?'}${blank}`
    if (decision.current) s.firmware = decision.current
    const device = request.mac || request.serial
    if (device) s.address = device
    if (request.user) s.user ??= request.user
    return reply
      .type('text/xml; charset=utf-8')
      .send(dusResponse(request, decision, urls, new Date(ctx.deps.clock.now())))
  }
  app.post('/RequestHandler/ucdevice.upx', async (req, reply) => upx(req, reply, false))
  app.post('/RequestHandlerExt/ucdevice.upx', async (req, reply) => upx(req, reply, true))

  /** The largest update file served (a CX700 image is a few MiB). */
  const UPDATE_FILE_MAX = 256 * 1024 * 1024
  const file = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { dus } = ctx.config(req).block
    if (!dus.enabled) return ctx.notFound(reply)
    const path = req.url.split('?')[0]!
    const found = parseFilePath(path)
    const s = stateOf(req)
    s.operation = 'update file'
    if (!found) return ctx.notFound(reply)
    const type = mimeType(found.file)
    // IIS without the MIME map answers 404.3 for .nbt and .cat (F20): the upx request still works.
    if (type === undefined || (!dus.mimeTypes && type === 'binary/octet-stream')) {
      s.code = dus.mimeTypes ? 'no such file' : 'no MIME type for the file (F20)'
      return ctx.notFound(reply)
    }
    const known = dus.approved === found.version || dus.pending.includes(found.version)
    let bytes: Buffer | undefined
    let refused: string | undefined
    if (dus.files !== undefined) {
      const read = readFileInside(dus.files, join(found.version, found.file), UPDATE_FILE_MAX)
      if ('bytes' in read) bytes = read.bytes
      else refused = read.refused
    } else if (known) bytes = standInFile(found.version, found.file)
    if (!bytes) {
      s.code =
        refused === 'outside'
          ? `${found.version}/${found.file} leads out of the update folder: refused`
          : `no ${found.file} for ${found.version}`
      return ctx.notFound(reply)
    }
    s.code = `${found.version}/${found.file}`
    return reply.type(type).send(bytes)
  }
  app.get('/DeviceUpdateFiles_Int/*', async (req, reply) => file(req, reply))
  app.get('/DeviceUpdateFiles_Ext/*', async (req, reply) => file(req, reply))
}

/** Where the pool's update files are: http://<pool> (BaseURL) and https://<pool> (ExternalBaseURL). */
function poolUrls(ctx: HttpContext, req: FastifyRequest): { internal: string; external: string } {
  const slice = ctx.config(req)
  const pool = slice.hosts.find((h) => h.roles.includes('dus'))?.name ?? `ocspool.${slice.site.sipDomain}`
  const http = ctx.httpPort()
  const https = ctx.httpsPort()
  return {
    internal: `http://${pool}${http === 80 ? '' : `:${http}`}`,
    external: `https://${pool}${https === 443 ? '' : `:${https}`}`,
  }
}
