import { request as httpRequest } from 'node:http'
import { request } from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'
import { certificatePem } from '../../certs/export.js'
import type { TestLab } from './lab.js'

export interface HttpsAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/**
 * One HTTPS request to the test lab as a named host (SNI and Host are the name, the connection goes to
 * 127.0.0.1), trusting the lab root; SHA-1 chains need security level 0 in OpenSSL 3.
 */
export function labHttps(
  t: TestLab,
  o: {
    readonly host: string
    readonly path: string
    readonly method?: string
    readonly body?: string | Buffer
    readonly headers?: Readonly<Record<string, string>>
    /** Basic credentials "user:password". */
    readonly basic?: string
  },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host: o.host, ...o.headers }
    if (o.basic !== undefined) headers.authorization = `Basic ${Buffer.from(o.basic).toString('base64')}`
    if (o.body !== undefined) {
      headers['content-type'] ??= 'text/xml; charset=utf-8'
      headers['content-length'] = Buffer.byteLength(o.body)
    }
    const req = request(
      {
        host: '127.0.0.1',
        port: t.port('http', 'https'),
        servername: o.host,
        method: o.method ?? (o.body !== undefined ? 'POST' : 'GET'),
        path: o.path,
        headers,
        ca: certificatePem(t.lab.pki.chain.at(-1)!),
        ciphers: 'DEFAULT:@SECLEVEL=0',
        agent: false,
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end(o.body)
  })
}

/** One plain HTTP request to the test lab's port 80 socket, as a named host. */
export function labHttp(
  t: TestLab,
  o: {
    readonly host: string
    readonly path: string
    readonly method?: string
    readonly body?: string
    readonly headers?: Readonly<Record<string, string>>
  },
): Promise<HttpsAnswer & { readonly raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...o.headers, host: o.host }
    if (o.body !== undefined) {
      headers['content-type'] = 'text/xml; charset=utf-8'
      headers['content-length'] = Buffer.byteLength(o.body)
    }
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: t.port('http', 'http'),
        method: o.method ?? (o.body !== undefined ? 'POST' : 'GET'),
        path: o.path,
        headers,
        agent: false,
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const raw = Buffer.concat(chunks)
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw })
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end(o.body)
  })
}
