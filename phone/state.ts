import 'reflect-metadata'
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as x509 from '@peculiar/x509'

/**
 * What a CX700 remembers across boots (spec §6.4's model): the last user, the roots it installed, the DUS
 * URL, whether anyone ever signed in, its firmware; a hard reset forgets all but the firmware and the MAC.
 * Kept per MAC under `<state>/phones/`, or only in memory.
 */
export class PhoneState {
  firmware: string
  /** An image downloaded and not yet installed (installed when the phone is idle, then it reboots). */
  pendingFirmware: string | undefined
  everSignedIn = false
  /** The sign-in addresses of the global address list the phone last downloaded (§4.3). */
  gal: string[] = []
  user: string | undefined
  dusUrl: string | undefined
  clockOffsetMs = 0
  #roots: x509.X509Certificate[] = []
  readonly #file: string | undefined

  constructor(firmware: string, file?: string) {
    this.firmware = firmware
    this.#file = file
  }

  roots(): readonly x509.X509Certificate[] {
    return this.#roots
  }
  /** Forgets the roots (a root the phone installed but cannot use is fetched again: the F10 loop). */
  clearRoots(): void {
    this.#roots = []
  }
  addRoots(certs: readonly x509.X509Certificate[]): void {
    for (const c of certs) if (!this.#roots.some((r) => r.equal(c))) this.#roots.push(c)
  }

  /** The state of `mac` in a state directory (new if it has none), with `firmware` for a new phone. */
  static load(stateDir: string, mac: string, firmware: string): PhoneState {
    const file = join(stateDir, 'phones', `${mac.replace(/:/g, '-')}.json`)
    const s = new PhoneState(firmware, file)
    try {
      const j = JSON.parse(readFileSync(file, 'utf8')) as {
        firmware?: string
        everSignedIn?: boolean
        user?: string
        dusUrl?: string
        roots?: string[]
      }
      s.firmware = j.firmware ?? firmware
      s.everSignedIn = j.everSignedIn === true
      if (j.user) s.user = j.user
      if (j.dusUrl) s.dusUrl = j.dusUrl
      s.addRoots((j.roots ?? []).map((r) => new x509.X509Certificate(r)))
    } catch {
      // A phone the lab has not seen: factory state.
    }
    return s
  }

  /** Forgets credentials, roots and URLs (the firmware stays), as the hard reset of spec §6.4. */
  hardReset(): void {
    this.everSignedIn = false
    this.user = undefined
    this.dusUrl = undefined
    this.#roots = []
    if (this.#file) rmSync(this.#file, { force: true })
  }

  save(): void {
    if (!this.#file) return
    mkdirSync(join(this.#file, '..'), { recursive: true })
    const tmp = `${this.#file}.tmp`
    writeFileSync(
      tmp,
      JSON.stringify(
        {
          firmware: this.firmware,
          everSignedIn: this.everSignedIn,
          user: this.user,
          dusUrl: this.dusUrl,
          roots: this.#roots.map((r) => r.toString('pem')),
        },
        null,
        2,
      ),
    )
    renameSync(tmp, this.#file)
  }
}
