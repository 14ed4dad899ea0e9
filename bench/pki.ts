import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, result } from './report.js'
import { labOnce, peerOnce } from './startup.js'

/**
 * Lab start (process start → /health 200) with the CA and server keys cached in the state directory, and
 * cold (a new state directory each run: a root and every server key generated), against `node -e ''`.
 * The three alternate, N runs each; the ratio is peer/lab for the cached start, the usual case.
 */
export async function pki(runs = 7): Promise<void> {
  const node = process.execPath
  const base = mkdtempSync(join(tmpdir(), 'cx700-bench-pki-'))
  try {
    const warmState = join(base, 'warm')
    await labOnce(node, warmState) // makes the CA and keys once
    const cached: number[] = []
    const cold: number[] = []
    const peer: number[] = []
    for (let i = 0; i < runs; i++) {
      peer.push(await peerOnce(node))
      cached.push(await labOnce(node, warmState))
      cold.push(await labOnce(node, join(base, `cold-${i}`)))
    }
    const c = median(cached)
    const k = median(cold)
    const p = median(peer)
    console.log(
      `lab start, cached CA: median ${c.toFixed(1)} ms (${cached.map((x) => x.toFixed(0)).join(', ')})`,
    )
    console.log(
      `lab start, cold CA:   median ${k.toFixed(1)} ms (${cold.map((x) => x.toFixed(0)).join(', ')})`,
    )
    console.log(`node -e '':           median ${p.toFixed(1)} ms`)
    result('pki', { lab: c, peer: p, ratio: p / c, unit: 'ms', cold_ms: k, cold_ratio: p / k, runs })
  } finally {
    rmSync(base, { recursive: true, force: true })
  }
}
