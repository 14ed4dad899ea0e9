import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { performance } from 'node:perf_hooks'
import { packageRoot } from '../lab/paths.js'
import { median, result } from './report.js'

/**
 * Time from process start to the admin API answering /health 200 (every server bound), against the floor
 * of any Node program: `node -e ''` from start to exit. The two alternate, N runs each.
 */
async function labOnce(node: string, stateDir: string): Promise<number> {
  const t0 = performance.now()
  const child = spawn(
    node,
    [
      join(packageRoot(), 'dist', 'cli', 'main.js'),
      'up',
      '--json',
      '--ports',
      'ephemeral',
      '--admin',
      '127.0.0.1:0',
      '--state',
      stateDir,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  )
  const exited = new Promise((r) => child.once('exit', r))
  try {
    const adminUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          const msg = JSON.parse(line) as { event?: string; adminUrl?: string }
          if (msg.event === 'ready' && msg.adminUrl) resolve(msg.adminUrl)
        } catch {
          // not JSON
        }
      })
      void exited.then(() => reject(new Error('the lab exited before it was ready')))
    })
    const res = await fetch(`${adminUrl}/health`)
    if (res.status !== 200) throw new Error(`/health answered ${res.status}`)
    return performance.now() - t0
  } finally {
    child.kill('SIGTERM')
    await exited
  }
}

async function peerOnce(node: string): Promise<number> {
  const t0 = performance.now()
  const child = spawn(node, ['-e', ''], { stdio: 'ignore' })
  await new Promise((r) => child.once('exit', r))
  return performance.now() - t0
}

export async function startup(runs = 15): Promise<void> {
  const node = process.execPath
  const stateDir = mkdtempSync(join(tmpdir(), 'cx700-bench-'))
  try {
    await labOnce(node, stateDir) // warm the file cache
    const lab: number[] = []
    const peer: number[] = []
    for (let i = 0; i < runs; i++) {
      peer.push(await peerOnce(node))
      lab.push(await labOnce(node, stateDir))
    }
    const l = median(lab)
    const p = median(peer)
    console.log(
      `lab start → /health 200: median ${l.toFixed(1)} ms (min ${Math.min(...lab).toFixed(1)}, max ${Math.max(...lab).toFixed(1)})`,
    )
    console.log(`node -e '' start → exit: median ${p.toFixed(1)} ms`)
    result('startup', { lab: l, peer: p, ratio: p / l, unit: 'ms', runs, node: process.version })
  } finally {
    rmSync(stateDir, { recursive: true, force: true })
  }
}
