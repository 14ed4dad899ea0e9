import { LabError } from '../core/errors.js'

/** The oldest Node the lab supports (ADR 0017): 22.12 on the 22 line, then 24 and later. */
export const OLDEST_NODE = { major: 22, minor: 12 } as const

/** Why this Node cannot run the lab, or undefined when it can (`version` as in process.versions.node). */
export function nodeVersionProblem(version: string): LabError | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major > OLDEST_NODE.major || (major === OLDEST_NODE.major && minor >= OLDEST_NODE.minor))
    return undefined
  return new LabError(
    'LAB_ERR_NODE_VERSION',
    `Node ${version} is not supported: cx700-lab needs Node ${OLDEST_NODE.major}.${OLDEST_NODE.minor} or later ` +
      `(Node 24 LTS is what CI tests; Node 20 ended its life in April 2026). ` +
      `Install a current LTS, e.g. npm install -g node@24, and run it again.`,
  )
}
