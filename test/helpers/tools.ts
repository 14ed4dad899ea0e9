import { spawnSync } from 'node:child_process'
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

/**
 * A Python module a test drives (a Debian python3-* package), found the same way as a tool. Debian's own
 * python3 comes first: the packages install for it, and a python3 earlier on PATH (pyenv) does not see them.
 */
export function pythonModule(module: string, debianPackage: string): Tool {
  const python = ['/usr/bin/python3', which('python3')].find(
    (p) =>
      p !== undefined &&
      spawnSync(p, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 20_000 }).status === 0,
  )
  const found = python !== undefined
  if (!found && process.env.CI === 'true') {
    throw new Error(
      `Python module ${module} is missing under CI: .ci/run must apt-get install ${debianPackage}.`,
    )
  }
  return {
    name: module,
    path: found ? python : undefined,
    skip: found ? undefined : `Python module ${module} not installed (apt-get install ${debianPackage})`,
  }
}

/**
 * A Debian package a test needs that brings no command of its own (a plugin or a library: libsasl2's GSSAPI
 * module), found by dpkg. Missing locally: a skip naming it; missing under CI=true: a failure, as for a tool.
 */
export function debianPackage(name: string): Tool {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8', timeout: 20_000 })
  const found = r.status === 0 && r.stdout.trim() === 'install ok installed'
  if (!found && process.env.CI === 'true') {
    throw new Error(`Debian package ${name} is missing under CI: .ci/run must apt-get install ${name}.`)
  }
  return {
    name,
    path: undefined,
    skip: found ? undefined : `${name} not installed (apt-get install ${name})`,
  }
}
