// Starts the built lab with the Node binary given, checks /health answers 200, stops it with SIGTERM and
// checks it exits 0. Used by .ci/run to cover users on a current LTS.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const node = process.argv[2]
const state = mkdtempSync(join(tmpdir(), 'cx700-smoke-'))
const child = spawn(
  node,
  ['dist/cli/main.js', 'up', '--json', '--ports', 'ephemeral', '--admin', '127.0.0.1:0', '--state', state],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
let ok = false
try {
  const ready = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const msg = JSON.parse(line)
        if (msg.event === 'ready') resolve(msg)
      } catch {}
    })
    exited.then((c) => reject(new Error(`exited (${c}) before ready`)))
  })
  const res = await fetch(`${ready.adminUrl}/health`)
  const version = await new Promise((resolve) => {
    const v = spawn(node, ['--version'])
    let out = ''
    v.stdout.on('data', (d) => (out += d))
    v.on('exit', () => resolve(out.trim()))
  })
  child.kill('SIGTERM')
  const code = await exited
  ok = res.status === 200 && code === 0
  console.log(`smoke ${ok ? 'ok' : 'FAILED'}: node ${version}, /health ${res.status}, exit ${code}`)
} catch (err) {
  child.kill('SIGKILL')
  console.log(`smoke FAILED: ${err.message}`)
} finally {
  clearTimeout(timer)
  rmSync(state, { recursive: true, force: true })
}
process.exitCode = ok ? 0 : 1
