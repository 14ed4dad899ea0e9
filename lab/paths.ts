import { homedir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where what must outlive a run lives (CA, leases, emulator state): $XDG_STATE_HOME/cx700-lab. */
export function defaultStateDir(): string {
  const base = process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state')
  return join(base, 'cx700-lab')
}

/** The package root, from lab/ in the sources or dist/lab/ once built. */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  return basename(dirname(here)) === 'dist' ? resolve(here, '../..') : resolve(here, '..')
}

/** The embedded default scenario. */
export function defaultScenarioPath(): string {
  return join(packageRoot(), 'scenarios', 'default.yaml')
}
