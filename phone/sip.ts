import type { TLSSocket } from 'node:tls'
import { decodeNtlm, encodeAuthenticate } from '../core/auth/ntlm.js'
import { LabDecodeError } from '../core/errors.js'
import { SipFramer, parseAuthParams, type SipResponse } from '../servers/sip/codec.js'

/**
 * The phone's SIP over one TLS connection to the pool (spec §2.7–2.8): REGISTER without credentials, the
 * MS-SIP NTLM exchange (empty gssapi-data, then the AUTHENTICATE for the CHALLENGE, keyed by opaque), and
 * the one-shot provisioning SUBSCRIBE.
 */
export class PhoneSip {
  readonly #framer = new SipFramer()
  readonly #queue: SipResponse[] = []
  #wake: (() => void) | undefined
  #cseq = 0
  #closed = false
  readonly #callId = `${Math.random().toString(36).slice(2)}@cx700`

  constructor(
    readonly socket: TLSSocket,
    readonly signIn: string,
    readonly local: string,
  ) {
    socket.on('data', (d: Buffer) => {
      try {
        for (const m of this.#framer.push(d)) if (m !== 'ping' && m.kind === 'response') this.#queue.push(m)
      } catch (err) {
        if (!(err instanceof LabDecodeError)) throw err
        socket.destroy()
      }
      this.#wake?.()
    })
    socket.on('close', () => {
      this.#closed = true
      this.#wake?.()
    })
  }

  async #next(timeoutMs: number): Promise<SipResponse | undefined> {
    const deadline = Date.now() + timeoutMs
    while (this.#queue.length === 0) {
      if (this.#closed || Date.now() > deadline) return undefined
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.#wake = () => {
          clearTimeout(t)
          this.#wake = undefined
          resolve()
        }
      })
    }
    return this.#queue.shift()
  }

  async request(
    method: string,
    headers: readonly string[],
    timeoutMs: number,
  ): Promise<SipResponse | undefined> {
    this.#cseq++
    const aor = `sip:${this.signIn}`
    this.socket.write(
      `${method} sip:${this.signIn.split('@')[1]!} SIP/2.0\r\n` +
        `Via: SIP/2.0/TLS ${this.local};branch=z9hG4bK${this.#cseq}${Math.random().toString(36).slice(2, 8)}\r\n` +
        `Max-Forwards: 70\r\nFrom: <${aor}>;tag=cx700${this.#cseq}\r\nTo: <${aor}>\r\nCall-ID: ${this.#callId}\r\n` +
        `CSeq: ${this.#cseq} ${method}\r\nContact: <sip:${this.local};transport=tls>;proxy=replace\r\n` +
        `User-Agent: CPE/3.5.6907.35 OCPHONE/3.5.6907.35 (Microsoft Office Communicator 2007 R2 Phone Edition)\r\n` +
        `${headers.map((h) => `${h}\r\n`).join('')}Content-Length: 0\r\n\r\n`,
    )
    return this.#next(timeoutMs)
  }

  /** REGISTER → 401 → NTLM → 200; the final answer (or the first one that is not a challenge). */
  async register(account: string, password: string, timeoutMs: number): Promise<SipResponse | undefined> {
    const first = await this.request('REGISTER', [], timeoutMs)
    if (first?.status !== 401) return first
    const offers = first.headers.all('www-authenticate').map((v) => parseAuthParams(v))
    const ntlm = offers.find((o) => o.scheme === 'ntlm')
    if (!ntlm) return first
    const target = ntlm.params.targetname ?? ''
    const ask = await this.request(
      'REGISTER',
      [
        `Authorization: NTLM qop="auth", realm="SIP Communications Service", targetname="${target}", gssapi-data="", version=3`,
      ],
      timeoutMs,
    )
    if (ask?.status !== 401) return ask
    const p = parseAuthParams(ask.headers.get('www-authenticate') ?? '').params
    let challenge
    try {
      challenge = decodeNtlm(Buffer.from(p['gssapi-data'] ?? '', 'base64'))
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      return ask
    }
    if (challenge.type !== 2) return ask
    const [domain = '', user = account] = account.includes('\\') ? account.split('\\') : ['', account]
    const auth = encodeAuthenticate({ challenge, user, domain, password, workstation: 'CX700' })
    return this.request(
      'REGISTER',
      [
        `Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="${p.opaque ?? ''}", targetname="${target}", gssapi-data="${Buffer.from(auth).toString('base64')}", version=3`,
      ],
      timeoutMs,
    )
  }

  close(): void {
    this.socket.destroy()
  }
}
