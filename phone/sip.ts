import { randomBytes } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import { authenticateWithKey, clientSigningKey, decodeNtlm, ntlmMac } from '../core/auth/ntlm.js'
import { LabDecodeError } from '../core/errors.js'
import {
  SipFramer,
  SipHeaders,
  encodeSip,
  parseAuthParams,
  signatureBuffer,
  type SipRequest,
  type SipResponse,
} from '../servers/sip/codec.js'

const REALM = 'SIP Communications Service'

/** The NTLM security association REGISTER established: what signs every later request (MS-SIPAE). */
interface SecurityAssociation {
  readonly opaque: string
  readonly targetname: string
  readonly signingKey: Uint8Array
  readonly crand: string
  cnum: number
}

/**
 * The phone's SIP over one TLS connection to the pool (spec §2.7–2.8): REGISTER without credentials, the
 * MS-SIP NTLM exchange (empty gssapi-data, then the AUTHENTICATE for the CHALLENGE, keyed by opaque), then
 * every request signed on the security association it established — the provisioning SUBSCRIBEs, each
 * re-REGISTER — and CRLF keep-alives on the connection.
 */
export class PhoneSip {
  readonly #framer = new SipFramer()
  readonly #queue: SipResponse[] = []
  #wake: (() => void) | undefined
  #cseq = 0
  #closed = false
  #sa: SecurityAssociation | undefined
  readonly #callId = `${randomBytes(8).toString('hex')}@cx700`
  readonly #tag = randomBytes(5).toString('hex')
  #pongs = 0

  constructor(
    readonly socket: TLSSocket,
    readonly signIn: string,
    readonly local: string,
    readonly userAgent = 'CPE/3.5.6907.35 OCPHONE/3.5.6907.35 (Microsoft Office Communicator 2007 R2 Phone Edition)',
  ) {
    socket.on('data', (d: Buffer) => {
      try {
        for (const m of this.#framer.push(d))
          if (m === 'pong') this.#pongs++
          else if (m !== 'ping' && m.kind === 'response') this.#queue.push(m)
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

  get closed(): boolean {
    return this.#closed || this.socket.destroyed
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

  /** Sends a request (signed on the security association once there is one) and waits for its answer. */
  async request(
    method: string,
    headers: readonly string[],
    timeoutMs: number,
    body?: { readonly type: string; readonly text: string },
  ): Promise<SipResponse | undefined> {
    if (this.closed) return undefined
    this.#cseq++
    const aor = `sip:${this.signIn}`
    const h = new SipHeaders([
      ['Via', `SIP/2.0/TLS ${this.local};branch=z9hG4bK${randomBytes(6).toString('hex')}`],
      ['Max-Forwards', '70'],
      ['From', `<${aor}>;tag=${this.#tag}`],
      ['To', `<${aor}>`],
      ['Call-ID', this.#callId],
      ['CSeq', `${this.#cseq} ${method}`],
      ['Contact', `<sip:${this.local};transport=tls>;proxy=replace`],
      ['User-Agent', this.userAgent],
    ])
    for (const line of headers) {
      const at = line.indexOf(':')
      h.add(line.slice(0, at), line.slice(at + 1).trim())
    }
    if (body) h.add('Content-Type', body.type)
    const req: SipRequest = {
      kind: 'request',
      method,
      uri: `sip:${this.signIn.split('@')[1]!}`,
      headers: h,
      body: Buffer.from(body?.text ?? '', 'utf8'),
    }
    if (this.#sa && h.get('authorization') === undefined) h.add('Authorization', this.#sign(req, this.#sa))
    this.socket.write(encodeSip(req))
    return this.#next(timeoutMs)
  }

  /** The Authorization of a request on the security association: crand, cnum and the MAC (MS-SIPAE). */
  #sign(req: SipRequest, sa: SecurityAssociation): string {
    sa.cnum++
    const buffer = signatureBuffer(req, {
      scheme: 'NTLM',
      rand: sa.crand,
      num: String(sa.cnum),
      realm: REALM,
      targetname: sa.targetname,
    })
    const mac = Buffer.from(ntlmMac(sa.signingKey, sa.cnum, Buffer.from(buffer))).toString('hex')
    return `NTLM qop="auth", realm="${REALM}", opaque="${sa.opaque}", targetname="${sa.targetname}", crand="${sa.crand}", cnum="${sa.cnum}", response="${mac}"`
  }

  /** REGISTER → 401 → NTLM → 200; the final answer (or the first one that is not a challenge). */
  async register(account: string, password: string, timeoutMs: number): Promise<SipResponse | undefined> {
    this.#sa = undefined
    const first = await this.request('REGISTER', [], timeoutMs)
    if (first?.status !== 401) return first
    const offers = first.headers.all('www-authenticate').map((v) => parseAuthParams(v))
    const ntlm = offers.find((o) => o.scheme === 'ntlm')
    if (!ntlm) return first
    const target = ntlm.params.targetname ?? ''
    const ask = await this.request(
      'REGISTER',
      [`Authorization: NTLM qop="auth", realm="${REALM}", targetname="${target}", gssapi-data="", version=3`],
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
    const { message, sessionKey } = authenticateWithKey({
      challenge,
      user,
      domain,
      password,
      workstation: 'CX700',
    })
    const opaque = p.opaque ?? ''
    const done = await this.request(
      'REGISTER',
      [
        `Authorization: NTLM qop="auth", realm="${REALM}", opaque="${opaque}", targetname="${target}", gssapi-data="${Buffer.from(message).toString('base64')}", version=3`,
      ],
      timeoutMs,
    )
    if (done?.status === 200)
      this.#sa = {
        opaque,
        targetname: target,
        signingKey: clientSigningKey(sessionKey),
        crand: randomBytes(4).toString('hex'),
        cnum: 0,
      }
    return done
  }

  /** A re-REGISTER on the security association (before Expires runs out). */
  refresh(timeoutMs: number): Promise<SipResponse | undefined> {
    return this.request('REGISTER', [], timeoutMs)
  }

  /** Whether REGISTER established a security association that later requests are signed on. */
  get signedIn(): boolean {
    return this.#sa !== undefined
  }

  /** A CRLF keep-alive (RFC 5626 §3.5.1); resolves whether the pool answered it with a CRLF. */
  async keepAlive(timeoutMs: number): Promise<boolean> {
    if (this.closed) return false
    const before = this.#pongs
    this.socket.write('\r\n\r\n')
    const deadline = Date.now() + timeoutMs
    while (this.#pongs === before && !this.closed && Date.now() < deadline)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, Math.min(50, deadline - Date.now())))
        this.#wake = () => {
          clearTimeout(t)
          this.#wake = undefined
          resolve()
        }
      })
    return this.#pongs > before
  }

  close(): void {
    this.socket.destroy()
  }
}
