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

/**
 * The options Node runs the lab with — the `cx700-lab` command's first line, `npm start`, and every bench
 * and test that starts the lab as a process. Node 24 lets V8's young generation grow to 64 MiB a half under
 * a busy server (60 s of dnsperf: 128 MiB of new space, RSS 250–280 MB); at 8 MiB the lab stays near
 * 145–155 MB under the same load (16 MiB: 165–170 MB) with no throughput lost that the bench can see (ADR 0017).
 * The old generation may grow to 1.3× what the last full collection kept, not V8's up to 2× and more for a
 * busy process: 60 s of dnsperf peaks at 135–143 MB rather than 152–161, at the same rate; the start pays one
 * more full collection, ~50 ms (ADR 0019).
 */
export const LAB_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=30']
