import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

/**
 * RSA key generation dominates a cold lab start (bench/pki: ~0.9 s against ~0.45 s warm). Test labs each get
 * a fresh state directory, so they share one cache of the lab PKI per machine: seeded into a state directory
 * before the lab starts, and topped up from it after the lab stops. Files are copied aside and renamed, so
 * parallel test workers never read half a key. Tests about CA creation itself opt out.
 */
// Bump the version when the CA names, dates or file layout change, so no test reads an old format (v2: CAs
// valid from LAB_CA_NOT_BEFORE, not from the day they were made).
const CACHE = join(tmpdir(), 'cx700-lab-test-pki-cache-v2')

function files(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile() && !f.includes(`${join('pki', '.new-')}`) && !f.endsWith('.tmp'))
}

function copyMissing(from: string, to: string): void {
  for (const f of files(from)) {
    const target = join(to, relative(from, f))
    if (existsSync(target)) continue
    const dir = join(target, '..')
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
    copyFileSync(f, tmp)
    renameSync(tmp, target)
  }
}

/** Copies the cached CAs and keys into `<stateDir>/pki`. */
export function seedTestPki(stateDir: string): void {
  copyMissing(CACHE, join(stateDir, 'pki'))
}

/** Adds what a lab made in `<stateDir>/pki` to the cache. */
export function harvestTestPki(stateDir: string): void {
  copyMissing(join(stateDir, 'pki'), CACHE)
}
