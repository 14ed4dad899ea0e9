import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { certificatePem, pkcs7Base64, pkcs7Der } from '../../certs/export.js'
import { ensureAuthority } from '../../certs/pki.js'
import { answerOf, stateOf, type HttpContext } from './context.js'

const P7B = 'application/x-pkcs7-certificates'

/**
 * AD CS web enrollment as the phone uses it (spec §2.5): certnew.p7b (the chain as a certs-only PKCS#7,
 * Enc=b64 or bin, AD CS's content type), certnew.cer (the CA certificate) and the certcarc.asp page.
 * Faults: DER when b64 was asked, a chain from a CA published nowhere, a body dribbled out slowly.
 */
export function certsrvRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/certsrv/certnew.p7b', async (req, reply) => certnew(ctx, req, reply, 'p7b'))
  app.get('/certsrv/certnew.cer', async (req, reply) => certnew(ctx, req, reply, 'cer'))
  app.get('/certsrv/certcarc.asp', async (req, reply) => {
    if (!ctx.config(req).block.certsrv.enabled) return ctx.notFound(reply)
    stateOf(req).operation = 'certcarc.asp'
    return reply
      .type('text/html; charset=utf-8')
      .send(
        '<html><head><title>Microsoft Active Directory Certificate Services</title></head><body>' +
          '<h3>Download a CA certificate, certificate chain, or CRL</h3>' +
          '<a href="certnew.cer?ReqID=CACert&amp;Renewal=-1&amp;Enc=b64">Download CA certificate</a><br>' +
          '<a href="certnew.p7b?ReqID=CACert&amp;Renewal=-1&amp;Enc=b64">Download CA certificate chain</a>' +
          '</body></html>',
      )
  })
}

async function certnew(
  ctx: HttpContext,
  req: FastifyRequest,
  reply: FastifyReply,
  what: 'p7b' | 'cer',
): Promise<FastifyReply> {
  const { certsrv } = ctx.config(req).block
  if (!certsrv.enabled) return ctx.notFound(reply)
  stateOf(req).operation = `certnew.${what}`
  const q = req.query as Record<string, string | undefined>
  if ((q.ReqID ?? '').toLowerCase() !== 'cacert')
    return reply
      .code(400)
      .type('text/html')
      .send('<html><body>ReqID=CACert is the only request the lab serves.</body></html>')
  const answer = answerOf(req)
  const enc = typeof answer.encoding === 'string' ? answer.encoding : (q.Enc ?? 'bin').toLowerCase()
  const pki = ctx.deps.pki()
  // A chain from the wrong CA: the lab's "untrusted" CA, published nowhere.
  const chain =
    answer.chain === 'untrusted'
      ? [(await ensureAuthority(pki.stateDir, 'untrusted', 'sha1', 2048, ctx.deps.clock.now())).certificate]
      : pki.chain
  const eol = certsrv.lineEnding === 'crlf' ? '\r\n' : '\n'
  let body: Buffer
  if (what === 'p7b') {
    body =
      enc === 'b64'
        ? Buffer.from(pkcs7Base64(chain, { armor: certsrv.armor, eol }))
        : Buffer.from(pkcs7Der(chain))
    reply.type(P7B)
  } else {
    const ca = chain[chain.length - 1]!
    body = enc === 'b64' ? Buffer.from(certificatePem(ca).replace(/\n/g, eol)) : Buffer.from(ca.rawData)
    reply.type('application/pkix-cert')
  }
  if (typeof answer.dribbleMs === 'number') return dribble(ctx, req, reply, body, answer.dribbleMs)
  return reply.send(body)
}

/** Sends a body 16 octets at a time, `ms` apart (a slow link or a stalling server). */
async function dribble(
  ctx: HttpContext,
  req: FastifyRequest,
  reply: FastifyReply,
  body: Buffer,
  ms: number,
): Promise<FastifyReply> {
  const type = reply.getHeader('content-type') as string
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, { 'content-type': type, 'content-length': body.length })
  for (let i = 0; i < body.length && !res.destroyed; i += 16) {
    res.write(body.subarray(i, i + 16))
    await sleep(ms)
  }
  res.end()
  ctx.journal(req, 200) // a hijacked reply skips onResponse
  return reply
}
