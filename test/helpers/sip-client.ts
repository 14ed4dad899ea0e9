import { connect, type TLSSocket } from 'node:tls'
import { connect as tcpConnect, type Socket } from 'node:net'
import ntlm from '@ewsjs/ntlm-client'
import { certificatePem } from '../../certs/export.js'
import { decodeNtlm, serverSessionKeys } from '../../core/auth/ntlm.js'
import { SipFramer, parseAuthParams, type SipMessage, type SipResponse } from '../../servers/sip/codec.js'
import { signature, type NtlmAssociation } from '../../servers/sip/signing.js'
import type { TestLab } from './lab.js'

/** A SIP client on one TLS (or TCP) connection to the test lab's pool, reading answers in order. */
export class SipTestClient implements AsyncDisposable {
  readonly socket: TLSSocket | Socket
  readonly #framer = new SipFramer()
  readonly #queue: SipMessage[] = []
  readonly #waiters: ((m: SipMessage) => void)[] = []
  #cseq = 0
  closed: Promise<void>
  /** The `opaque` of the NTLM security association the last register() established. */
  lastOpaque: string | undefined
  /** Its keys (from the AUTHENTICATE the library wrote), to sign later requests with. */
  #sa: NtlmAssociation | undefined
  #cnum = 0

  private constructor(socket: TLSSocket | Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => {
      for (const m of this.#framer.push(d)) {
        if (typeof m === 'string') continue
        const w = this.#waiters.shift()
        if (w) w(m)
        else this.#queue.push(m)
      }
    })
    this.closed = new Promise((r) => socket.once('close', () => r()))
  }

  static async tls(t: TestLab, servername = 'ocspool.contoso.test', name = 'sip'): Promise<SipTestClient> {
    const endpoint = t.lab.endpoints().find((e) => e.server === 'sip' && e.name === name)
    const socket = connect({
      host: endpoint?.address ?? '127.0.0.1',
      port: endpoint?.port ?? 0,
      servername,
      ca: certificatePem(t.lab.pki.chain.at(-1)!),
      ciphers: 'DEFAULT:@SECLEVEL=0',
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve)
      socket.once('error', reject)
    })
    return new SipTestClient(socket)
  }

  static async tcp(t: TestLab): Promise<SipTestClient> {
    const socket = tcpConnect({ host: '127.0.0.1', port: t.port('sip', 'sip-tcp') })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new SipTestClient(socket)
  }

  next(): Promise<SipMessage> {
    const m = this.#queue.shift()
    if (m) return Promise.resolve(m)
    return new Promise((resolve, reject) => {
      this.#waiters.push(resolve)
      this.socket.once('close', () => reject(new Error('the connection closed')))
    })
  }

  #text(method: string, user: string, headers: readonly string[]): string {
    return (
      `${method} sip:contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK${this.#cseq}\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:${user}>;tag=t${this.#cseq}\r\nTo: <sip:${user}>\r\nCall-ID: lab-test\r\n` +
      `CSeq: ${this.#cseq} ${method}\r\nContact: <sip:127.0.0.1;transport=tls>\r\n` +
      `${headers.map((h) => `${h}\r\n`).join('')}Content-Length: 0\r\n\r\n`
    )
  }

  /** Sends a request for `user` with extra headers; resolves with its answer. */
  async request(method: string, user: string, headers: readonly string[] = []): Promise<SipResponse> {
    this.#cseq++
    this.socket.write(this.#text(method, user, headers))
    const m = await this.next()
    if (m.kind !== 'response') throw new Error('expected a response')
    return m
  }

  /** A request signed on the last security association (MS-SIPAE), as a signing client sends it. */
  async signed(method: string, user: string, headers: readonly string[] = []): Promise<SipResponse> {
    return this.request(method, user, [...headers, this.signedAuthorization(method, user, headers)])
  }

  /** The Authorization that signs the next request (`method` for `user` with `headers`). */
  signedAuthorization(method: string, user: string, headers: readonly string[] = []): string {
    const sa = this.#sa
    if (!sa) throw new Error('no security association: register first')
    this.#cseq++
    const [unsigned] = new SipFramer().push(Buffer.from(this.#text(method, user, headers)))
    this.#cseq--
    if (unsigned === undefined || typeof unsigned === 'string') throw new Error('unparsable request')
    const cnum = String(++this.#cnum)
    const response = signature(unsigned, sa, 'client', '1a2b3c4d', cnum)
    return `Authorization: NTLM qop="auth", realm="${sa.realm}", opaque="${this.lastOpaque ?? ''}", targetname="${sa.targetname}", crand="1a2b3c4d", cnum="${cnum}", response="${response}"`
  }

  /** The CX700's registration (spec §2.7): REGISTER, then NTLM as MS-SIPAE does it; the final answer. */
  async register(user: string, account: string, password: string): Promise<SipResponse> {
    const first = await this.request('REGISTER', user)
    if (first.status !== 401) return first
    const ask = await this.request('REGISTER', user, [
      'Authorization: NTLM qop="auth", realm="SIP Communications Service", targetname="ocspool.contoso.test", gssapi-data="", version=3',
    ])
    const p = parseAuthParams(ask.headers.get('www-authenticate') ?? '').params
    this.lastOpaque = p.opaque
    const type2 = ntlm.decodeType2Message(p['gssapi-data'] ?? '')
    // OCS 2007 R2's CHALLENGE offers both OEM and Unicode; this library picks OEM where Windows picks Unicode
    // ([MS-NLMP] §2.2.2.5: Unicode wins) and then flags its ASCII strings as Unicode. Steer it to Unicode.
    Object.assign(type2, { encoding: 'ucs2' })
    const type3 = ntlm.createType3Message(type2, account, password, 'CX700', 'CORP')
    const auth = decodeNtlm(Buffer.from(type3.slice(5), 'base64'))
    const keys = auth.type === 3 ? serverSessionKeys(auth, password) : undefined
    this.#sa = keys && {
      keys,
      version: 3,
      realm: 'SIP Communications Service',
      targetname: 'ocspool.contoso.test',
    }
    return this.request('REGISTER', user, [
      `Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="${p.opaque ?? ''}", targetname="ocspool.contoso.test", gssapi-data="${type3.slice(5)}", version=3`,
    ])
  }

  /**
   * An Authorization naming the last security association with crand, cnum and a signature that is not
   * computed (all zeros): what a client that does not sign sends.
   */
  unsignedOnSa(cnum = 1): string {
    return `Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="${this.lastOpaque ?? ''}", targetname="ocspool.contoso.test", crand="1a2b3c4d", cnum="${cnum}", response="01000000000000000000000000000000"`
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.socket.destroy()
    await this.closed
  }
}
