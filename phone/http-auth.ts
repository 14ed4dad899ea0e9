import { decodeNtlm, encodeAuthenticate, encodeNegotiate } from '../core/auth/ntlm.js'
import { LabDecodeError } from '../core/errors.js'
import type { HttpAnswer, PhoneHttp } from './http.js'

/** An HTTP exchange with NTLM (in the `NTLM` or `Negotiate` scheme) on one connection. */
export async function withNtlm(
  conn: PhoneHttp,
  method: string,
  path: string,
  host: string,
  account: string,
  password: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<HttpAnswer | undefined> {
  const first = await conn.request(method, path, host, headers, body, timeoutMs)
  if (first?.status !== 401) return first
  const offered = (first.headers.get('www-authenticate') ?? []).flatMap((v) => v.split(/,\s*/))
  const scheme = offered.some((v) => /^NTLM$/i.test(v.trim())) ? 'NTLM' : 'Negotiate'
  const type1 = Buffer.from(encodeNegotiate()).toString('base64')
  const second = await conn.request(
    method,
    path,
    host,
    { ...headers, Authorization: `${scheme} ${type1}` },
    body,
    timeoutMs,
  )
  const token = (second?.headers.get('www-authenticate') ?? [])
    .map((v) => v.split(' '))
    .find((p) => p[0]?.toLowerCase() === scheme.toLowerCase() && p[1])?.[1]
  if (!second || second.status !== 401 || !token) return second
  let challenge
  try {
    challenge = decodeNtlm(Buffer.from(token, 'base64'))
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return second
  }
  if (challenge.type !== 2) return second
  const [domain = '', user = account] = account.includes('\\') ? account.split('\\') : ['', account]
  const type3 = Buffer.from(
    encodeAuthenticate({ challenge, user, domain, password, workstation: 'CX700' }),
  ).toString('base64')
  return conn.request(
    method,
    path,
    host,
    { ...headers, Authorization: `${scheme} ${type3}` },
    body,
    timeoutMs,
  )
}

/**
 * An HTTP exchange with Kerberos in `Negotiate` on one connection: the first request, then a token, then —
 * refused (spec §2.5's trace: "the first attempt fails") — a fresh token, up to `tries` of them.
 */
export async function withKerberos(
  conn: PhoneHttp,
  method: string,
  path: string,
  host: string,
  token: () => Uint8Array,
  timeoutMs: number,
  tries = 2,
): Promise<{ answer: HttpAnswer | undefined; attempts: number }> {
  let answer = await conn.request(method, path, host, {}, '', timeoutMs)
  let attempts = 0
  while (answer?.status === 401 && attempts < tries) {
    const offered = (answer.headers.get('www-authenticate') ?? []).some((v) => /^Negotiate\b/i.test(v.trim()))
    if (!offered) break
    attempts++
    const authorization = `Negotiate ${Buffer.from(token()).toString('base64')}`
    answer = await conn.request(method, path, host, { Authorization: authorization }, '', timeoutMs)
  }
  return { answer, attempts }
}
