// @ts-check
// Plain JavaScript on purpose, and importing nothing: `npm start` and `npm test` run this file before they
// build anything (`node cli/node-version.js`), on whatever Node the user has, so that an unsupported one is
// refused at once with the same words as the built `cx700-lab` command, which imports it too (ADR 0017).
import { realpathSync } from 'node:fs'
import process from 'node:process'
import { fileURLToPath } from 'node:url'

/** The oldest Node the lab supports (ADR 0017): 22.12 on the 22 line, then 24 and later. */
export const OLDEST_NODE = Object.freeze({ major: 22, minor: 12 })

/**
 * Why this Node cannot run the lab, or undefined when it can (`version` as in process.versions.node).
 * @param {string} version
 * @returns {{ code: 'LAB_ERR_NODE_VERSION', message: string } | undefined}
 */
export function nodeVersionProblem(version) {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major > OLDEST_NODE.major || (major === OLDEST_NODE.major && minor >= OLDEST_NODE.minor))
    return undefined
  return {
    code: 'LAB_ERR_NODE_VERSION',
    message:
      `Node ${version} is not supported: cx700-lab needs Node ${OLDEST_NODE.major}.${OLDEST_NODE.minor} or ` +
      `later (Node 24 LTS is what CI tests; Node 20 ended its life in April 2026). Get Node 24 beside the ` +
      `system's, for this user only: npm install --prefix ~/.local/node24 node@24, then ` +
      `export PATH=~/.local/node24/node_modules/.bin:$PATH, and run it again.`,
  }
}

/** Run as a script: exits 1 with the message on an unsupported Node, 0 otherwise. */
const script = process.argv[1]
if (script !== undefined && realpathSync(script) === fileURLToPath(import.meta.url)) {
  const problem = nodeVersionProblem(process.versions.node)
  if (problem) {
    process.stderr.write(`cx700-lab: ${problem.message}\n`)
    process.exitCode = 1
  }
}
