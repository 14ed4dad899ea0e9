import type { Socket } from 'node:net'
import { LabError } from '../core/errors.js'
import {
  decodeLdapResponse,
  encodeBindRequest,
  encodeSearchRequest,
  encodeUnbindRequest,
  type BindAuth,
  type LdapResponse,
  type SearchSpec,
} from '../servers/ldap/client-codec.js'
import { takeLdapFrames } from '../servers/ldap/codec.js'
import type { PhoneNet } from './net.js'

/** One entry of a search: its DN and its attributes by lower-cased name. */
export interface PhoneLdapEntry {
  readonly dn: string
  readonly attributes: ReadonlyMap<string, readonly Buffer[]>
}

export interface BindAnswer {
  readonly code: number
  readonly message: string
  readonly serverSaslCreds?: Buffer
}

const fail = (message: string): LabError => new LabError('LAB_ERR_PHONE_LDAP', message)

/**
 * The phone's LDAP connection to its DC: the client codec over one TCP connection from the phone's own
 * address. It writes what the phone writes (a SASL bind carries binary credentials, which the LDAP library
 * the emulator used before could only write as text) and reads the answers in order.
 */
export class PhoneLdap {
  readonly #socket: Socket
  readonly #timeoutMs: number
  readonly #answers: LdapResponse[] = []
  #pending: Buffer = Buffer.alloc(0)
  #wake: (() => void) | undefined
  #error: Error | undefined
  #id = 0

  private constructor(socket: Socket, timeoutMs: number) {
    this.#socket = socket
    this.#timeoutMs = timeoutMs
    socket.on('data', (d: Buffer) => this.#read(d))
    socket.on('error', (err) => this.#stop(err))
    socket.on('close', () => this.#stop(fail('the DC closed the connection')))
  }

  /** Connects to the DC (`host`:`port` as the phone's network reaches it). */
  static open(net: PhoneNet, host: string, port: number, timeoutMs: number): Promise<PhoneLdap> {
    const socket = net.tcp(host, port)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy()
        reject(fail(`no connection to ${host}:${port} in ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        resolve(new PhoneLdap(socket, timeoutMs))
      })
      socket.once('error', (err) => {
        clearTimeout(timer)
        reject(fail(`no connection to ${host}:${port}: ${err.message}`))
      })
    })
  }

  #read(data: Buffer): void {
    try {
      const { frames, rest } = takeLdapFrames(Buffer.concat([this.#pending, data]))
      this.#pending = rest
      for (const f of frames) this.#answers.push(decodeLdapResponse(f))
    } catch (err) {
      this.#stop(err as Error)
      this.#socket.destroy()
    }
    this.#wake?.()
  }

  #stop(err: Error): void {
    this.#error ??= err
    this.#wake?.()
  }

  /** The next answer to request `id`, within the phone's timeout. */
  async #answer(id: number): Promise<LdapResponse> {
    const deadline = Date.now() + this.#timeoutMs
    for (;;) {
      const i = this.#answers.findIndex((a) => a.id === id || a.id === 0)
      if (i >= 0) {
        const [a] = this.#answers.splice(i, 1)
        if (a!.id === 0)
          throw fail(`the DC ended the session (result ${a!.kind === 'other' ? a!.code : '?'})`)
        return a!
      }
      if (this.#error) throw this.#error
      const left = deadline - Date.now()
      if (left <= 0) throw fail(`no answer from the DC in ${this.#timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
    }
  }

  async bind(auth: BindAuth): Promise<BindAnswer> {
    const id = ++this.#id
    this.#socket.write(encodeBindRequest(id, auth))
    const a = await this.#answer(id)
    if (a.kind !== 'bind') throw fail(`a bind was answered with a ${a.kind}`)
    return {
      code: a.code,
      message: a.message,
      ...(a.serverSaslCreds ? { serverSaslCreds: a.serverSaslCreds } : {}),
    }
  }

  /** A search's entries (references are not chased: spec §10.11 GUESS); a result other than success throws. */
  async search(spec: SearchSpec): Promise<PhoneLdapEntry[]> {
    const id = ++this.#id
    this.#socket.write(encodeSearchRequest(id, spec))
    const entries: PhoneLdapEntry[] = []
    for (;;) {
      const a = await this.#answer(id)
      if (a.kind === 'entry') {
        const attributes = new Map<string, Buffer[]>()
        for (const at of a.attributes) attributes.set(at.type.toLowerCase(), [...at.values])
        entries.push({ dn: a.dn, attributes })
      } else if (a.kind === 'done') {
        if (a.code !== 0) throw fail(`search of ${JSON.stringify(spec.base)}: result ${a.code} ${a.message}`)
        return entries
      } else if (a.kind !== 'reference') throw fail(`a search was answered with a ${a.kind}`)
    }
  }

  /** Unbinds and closes (never throws: the phone is done with the DC either way). */
  close(): void {
    if (this.#socket.destroyed || this.#error !== undefined) {
      this.#socket.destroy()
      return
    }
    // The unbind goes out, then the DC closes; a DC that does not is left after a second.
    this.#socket.end(encodeUnbindRequest(++this.#id))
    setTimeout(() => this.#socket.destroy(), 1_000).unref()
  }
}
