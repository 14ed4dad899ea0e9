#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=30
// The first line's options are lab/paths.ts LAB_NODE_OPTIONS (a test keeps the two the same).
import module from 'node:module'
import { nodeVersionProblem } from './node-version.js'

// Refused before anything else loads: a Node the lab does not support fails here, clearly (ADR 0017).
const problem = nodeVersionProblem(process.versions.node)
if (problem) {
  process.stderr.write(`cx700-lab: ${problem.message}\n`)
  process.exitCode = 1
} else {
  // V8's compiled code for the lab's modules, kept on disk (in the OS temporary folder): a second start
  // compiles none of them again.
  module.enableCompileCache?.()
  const { main } = await import('./cli.js')
  process.exitCode = await main(process.argv.slice(2))
}
