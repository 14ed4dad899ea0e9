import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { startLabProcess } from './process.js'
import { median, result } from './report.js'

/**
 * Time from process start to the admin API answering /health 200 (every server bound), against the floor
 * of any Node program: `node -e ''` from start to exit. The two alternate, N runs each.
 */
export async function labOnce(node: string, stateDir: string): Promise<number> {
  const t0 = performance.now()
  const lab = await startLabProcess(stateDir, [], node)
  try {
    const res = await fetch(`${lab.adminUrl}/health`)
    if (res.status !== 200) throw new Error(`/health answered ${res.status}`)
    return performance.now() - t0
  } finally {
    await lab.stop()
  }
}

export async function peerOnce(node: string): Promise<number> {
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
