import { createHash, randomBytes } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import { authenticateWithKey, decodeNtlm } from '../core/auth/ntlm.js'
import { LabDecodeError } from '../core/errors.js'
import {
  SipFramer,
  SipHeaders,
  encodeSip,
  parseAuthParams,
  type SipRequest,
  type SipResponse,
} from '../servers/sip/codec.js'
import { instanceOfEpid } from '../servers/sip/instance.js'
import { signature, verifySignature, type NtlmAssociation } from '../servers/sip/signing.js'

const REALM = 'SIP Communications Service'
/** The highest MS-SIPAE version the phone speaks (Communicator 2007 R2's: the AUTHENTICATE is signed too). */
const PHONE_VERSION = 4

/** The NTLM security association REGISTER established: what signs every later request (MS-SIPAE). */
interface SecurityAssociation {
  readonly opaque: string
  readonly sa: NtlmAssociation
  /** `Authorization` after a 401, `Proxy-Authorization` after a 407. */
  readonly header: string
  readonly crand: string
  cnum: number
}

/** What REGISTER came to: the last answer, and why the phone refuses it when it does. */
export interface RegisterResult {
  readonly response: SipResponse | undefined
  /** Set when the pool's answer failed the phone's checks (its rspauth), though its status was 200. */
  readonly refused?: string
}

/** The endpoint ID a device keeps (MS-SIPRE: 10 hex digits); the phone's is made from its MAC. */
export function epidOf(mac: string): string {
  return createHash('sha1').update(mac.toLowerCase()).digest('hex').slice(0, 10)
}

/**
 * The phone's SIP over one TLS connection to the pool (spec §2.7–2.8): REGISTER without credentials, the
 * MS-SIPAE NTLM exchange (empty gssapi-data, then the AUTHENTICATE for the CHALLENGE, keyed by opaque, signed
 * in version 4), then every request signed on the security association it established — the provisioning
 * SUBSCRIBEs, each re-REGISTER — and every final answer's rspauth checked with the server's keys, as
 * Communicator and sipe check it; CRLF keep-alives on the connection.
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
  readonly #instance: string
  #pongs = 0
  /** The last answer on the security association that failed its signature check, in words. */
  signatureProblem: string | undefined

  constructor(
    readonly socket: TLSSocket,
    readonly signIn: string,
    readonly local: string,
    readonly userAgent = 'CPE/3.5.6907.35 OCPHONE/3.5.6907.35 (Microsoft Office Communicator 2007 R2 Phone Edition)',
    readonly epid = randomBytes(5).toString('hex'),
  ) {
    this.#instance = instanceOfEpid(epid).toUpperCase()
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

  /** A request as the phone writes it (From with epid, Contact with +sip.instance: MS-SIPRE). */
  #build(
    method: string,
    headers: readonly string[],
    body?: { readonly type: string; readonly text: string },
  ): SipRequest {
    this.#cseq++
    const aor = `sip:${this.signIn}`
    const h = new SipHeaders([
      ['Via', `SIP/2.0/TLS ${this.local};branch=z9hG4bK${randomBytes(6).toString('hex')}`],
      ['Max-Forwards', '70'],
      ['From', `<${aor}>;tag=${this.#tag};epid=${this.epid}`],
      ['To', `<${aor}>`],
      ['Call-ID', this.#callId],
      ['CSeq', `${this.#cseq} ${method}`],
      [
        'Contact',
        `<sip:${this.local};transport=tls>;proxy=replace;+sip.instance="<urn:uuid:${this.#instance}>"`,
      ],
      ['User-Agent', this.userAgent],
    ])
    for (const line of headers) {
      const at = line.indexOf(':')
      h.add(line.slice(0, at), line.slice(at + 1).trim())
    }
    if (body) h.add('Content-Type', body.type)
    const uri = `sip:${this.signIn.split('@')[1]!}`
    return { kind: 'request', method, uri, headers: h, body: Buffer.from(body?.text ?? '', 'utf8') }
  }

  /** Sends a request (signed on the security association once there is one) and waits for its answer. */
  async request(
    method: string,
    headers: readonly string[],
    timeoutMs: number,
    body?: { readonly type: string; readonly text: string },
  ): Promise<SipResponse | undefined> {
    if (this.closed) return undefined
    const req = this.#build(method, headers, body)
    const sa = this.#sa
    if (sa) req.headers.add(sa.header, this.#signed(req, sa, ''))
    return this.#exchange(req, timeoutMs, sa)
  }

  /** Writes a request and waits for the answer; on an association, a final answer must carry a good rspauth. */
  async #exchange(
    req: SipRequest,
    timeoutMs: number,
    sa?: SecurityAssociation,
  ): Promise<SipResponse | undefined> {
    this.socket.write(encodeSip(req))
    const res = await this.#next(timeoutMs)
    // A refusal (401/403/…) comes unsigned; a success must be signed, and a signature present must verify.
    const signed = res?.headers.get('authentication-info') !== undefined
    if (!sa || !res || res.status < 200 || (res.status >= 300 && !signed)) return res
    const problem = this.#checkAnswer(res, sa)
    if (problem === undefined) return res
    this.signatureProblem = `${res.status} to ${req.method}: ${problem}`
    // sipe drops the connection on a bad signature and ignores an unsigned answer; the phone does the same.
    if (problem !== 'no Authentication-Info') this.close()
    return undefined
  }

  /** Why an answer's signature is not the pool's (undefined: it verifies). */
  #checkAnswer(res: SipResponse, sa: SecurityAssociation): string | undefined {
    const info = res.headers.get('authentication-info')
    if (info === undefined) return 'no Authentication-Info'
    const p = parseAuthParams(info).params
    if (p.rspauth === undefined || p.srand === undefined || p.snum === undefined)
      return 'Authentication-Info without rspauth, srand and snum'
    return verifySignature(res, sa.sa, 'server', { rand: p.srand, num: p.snum, response: p.rspauth })
      ? undefined
      : `rspauth ${p.rspauth} is not the pool's signature`
  }

  /** The auth header's value for a request on the association: crand, cnum and the signature (MS-SIPAE). */
  #signed(req: SipRequest, sa: SecurityAssociation, extra: string): string {
    sa.cnum++
    const cnum = String(sa.cnum)
    const response = signature(req, sa.sa, 'client', sa.crand, cnum)
    return `NTLM qop="auth", opaque="${sa.opaque}", realm="${sa.sa.realm}", targetname="${sa.sa.targetname}"${extra}, crand="${sa.crand}", cnum="${cnum}", response="${response}"`
  }

  /** REGISTER → challenge → NTLM → 200 whose rspauth verifies; the final answer, or why it was refused. */
  async register(account: string, password: string, timeoutMs: number): Promise<RegisterResult> {
    this.#sa = undefined
    this.signatureProblem = undefined
    const first = await this.request('REGISTER', [], timeoutMs)
    if (first?.status !== 401 && first?.status !== 407) return { response: first }
    const proxy = first.status === 407
    const offers = first.headers
      .all(proxy ? 'proxy-authenticate' : 'www-authenticate')
      .map((v) => parseAuthParams(v))
    const ntlm = offers.find((o) => o.scheme === 'ntlm')
    if (!ntlm) return { response: first }
    const header = proxy ? 'Proxy-Authorization' : 'Authorization'
    const target = ntlm.params.targetname ?? ''
    const version = Math.min(Number.parseInt(ntlm.params.version ?? '2', 10) || 2, PHONE_VERSION)
    const ask = await this.request(
      'REGISTER',
      [
        `${header}: NTLM qop="auth", realm="${REALM}", targetname="${target}", gssapi-data="", version=${version}`,
      ],
      timeoutMs,
    )
    if (ask?.status !== first.status) return { response: ask }
    const p = parseAuthParams(ask.headers.get(proxy ? 'proxy-authenticate' : 'www-authenticate') ?? '').params
    return this.#authenticate(
      { account, password, target, version, header, opaque: p.opaque ?? '' },
      p['gssapi-data'] ?? '',
      ask,
      timeoutMs,
    )
  }

  /** The AUTHENTICATE leg: the signed REGISTER (version 4) and the check of the pool's 200. */
  async #authenticate(
    o: { account: string; password: string; target: string; version: number; header: string; opaque: string },
    token: string,
    ask: SipResponse,
    timeoutMs: number,
  ): Promise<RegisterResult> {
    let challenge
    try {
      challenge = decodeNtlm(Buffer.from(token, 'base64'))
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
      return { response: ask }
    }
    if (challenge.type !== 2) return { response: ask }
    const [domain = '', user = o.account] = o.account.includes('\\') ? o.account.split('\\') : ['', o.account]
    const { message, keys } = authenticateWithKey({
      challenge,
      user,
      domain,
      password: o.password,
      workstation: 'CX700',
    })
    const sa: SecurityAssociation = {
      opaque: o.opaque,
      sa: { keys, version: o.version, realm: REALM, targetname: o.target },
      header: o.header,
      crand: randomBytes(4).toString('hex'),
      cnum: 0,
    }
    const gssapi = `, gssapi-data="${Buffer.from(message).toString('base64')}", version=${o.version}`
    const req = this.#build('REGISTER', [])
    req.headers.add(
      o.header,
      o.version >= 4
        ? this.#signed(req, sa, gssapi)
        : `NTLM qop="auth", opaque="${o.opaque}", realm="${REALM}", targetname="${o.target}"${gssapi}`,
    )
    const done = await this.#exchange(req, timeoutMs, sa)
    if (done === undefined && this.signatureProblem !== undefined)
      return { response: undefined, refused: this.signatureProblem }
    if (done?.status === 200) this.#sa = sa
    return { response: done }
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
