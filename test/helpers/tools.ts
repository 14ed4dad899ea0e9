import { which } from '../../lab/which.js'

export { which }

export interface Tool {
  readonly name: string
  readonly path: string | undefined
  /** Why the tests that need it are skipped; undefined when it is there. */
  readonly skip: string | undefined
}

/**
 * A third-party tool a test drives. Missing locally: the tests skip with a message saying which Debian
 * package brings it. Missing under CI=true: a failure, because .ci/run installs every tool the tests use.
 */
export function tool(name: string, debianPackage: string): Tool {
  const path = which(name)
  if (!path && process.env.CI === 'true') {
    throw new Error(`${name} is missing under CI: .ci/run must apt-get install ${debianPackage}.`)
  }
  return { name, path, skip: path ? undefined : `${name} not installed (apt-get install ${debianPackage})` }
}

/** Root is needed for network namespaces; CI runs as root. */
export function rootSkip(): string | undefined {
  if (process.getuid?.() === 0) return undefined
  if (process.env.CI === 'true') throw new Error('network-namespace tests need root under CI.')
  return 'network-namespace tests need root'
}
