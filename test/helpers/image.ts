import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { packageRoot } from '../../lab/paths.js'
import { tool } from './tools.js'

/** The tag .ci/run builds before the suite (containers/build-image.sh); a machine without it builds it. */
export const TEST_IMAGE = 'cx700-lab:test'

/** The lab's unprivileged user in the image. */
export const LAB_UID = 900

/** What builds and runs the image here: Debian's podman and buildah, debootstrap for the root, runc. */
const tools = [
  tool('podman', 'podman'),
  tool('buildah', 'buildah'),
  tool('debootstrap', 'debootstrap'),
  tool('runc', 'runc'),
]

/** Why the container tests are skipped (a tool missing, never under CI), or undefined. */
export const containerSkip = tools.find((t) => t.skip !== undefined)?.skip

/** Builds the test image unless it is there (about a minute and a half on two cores). */
export function ensureTestImage(): void {
  if (spawnSync('podman', ['image', 'exists', TEST_IMAGE]).status === 0) return
  const built = spawnSync('bash', [join(packageRoot(), 'containers', 'build-image.sh'), TEST_IMAGE], {
    encoding: 'utf8',
  })
  if (built.status !== 0) throw new Error(`containers/build-image.sh failed:\n${built.stdout}${built.stderr}`)
}

/** podman's settings on this kind of machine: runc (crun refuses hybrid cgroups), the host's rlimits. */
export const PODMAN_CONF = `[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
`
