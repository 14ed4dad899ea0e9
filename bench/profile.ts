import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Where a bench's time goes: `npm run bench -- dns --profile DIR` starts every lab process with V8's sampling
 * profiler (`--cpu-prof`), and this summary reads each `.cpuprofile` it wrote — self time by area (the lab's
 * own modules by folder, Node's internals, each dependency, GC) and the functions that cost most. For the bench
 * process itself (the storm's emulated phones), run it as `node --cpu-prof --cpu-prof-dir=DIR dist/bench/run.js
 * storm` and then `node dist/bench/profile.js DIR`.
 */

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

/** The node arguments that make a lab process write a profile into the folder named by BENCH_PROFILE. */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_PROFILE
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []
}

/** A script's area: the lab's folder (`servers/dns`, `core/journal`), a dependency, or Node's internals. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  if (url.startsWith('node:')) return 'node internals'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (pkg) return pkg[1]!
  const own = /\/dist\/([^/]+)\/(?:([^/]+)\/)?/.exec(url)
  if (own) return own[2] ? `${own[1]}/${own[2]}` : own[1]!
  return url
}

/** A script's place as a reader finds it: from `node_modules/` or the lab's `dist/` on. */
export function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) return url.slice(nm + 1)
  const dist = url.indexOf('/dist/')
  return dist >= 0 ? url.slice(dist + 1) : url
}

export interface ProfileSummary {
  readonly totalMs: number
  readonly areas: readonly { readonly area: string; readonly ms: number }[]
  readonly functions: readonly { readonly name: string; readonly where: string; readonly ms: number }[]
}

/** Self time by area and by function, largest first (idle time left out of the total). */
export function summarize(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const areas = new Map<string, number>()
  const functions = new Map<string, { name: string; where: string; ms: number }>()
  let total = 0
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    if (functionName === '(idle)') continue
    const ms = us / 1000
    total += ms
    const area = areaOf(url, functionName)
    areas.set(area, (areas.get(area) ?? 0) + ms)
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : ''
    const key = `${functionName}@${where}`
    const f = functions.get(key) ?? { name: functionName || '(anonymous)', where, ms: 0 }
    f.ms += ms
    functions.set(key, f)
  }
  const largest = <T extends { ms: number }>(xs: Iterable<T>): T[] =>
    [...xs].sort((a, b) => b.ms - a.ms).slice(0, top)
  return {
    totalMs: total,
    areas: largest([...areas].map(([area, ms]) => ({ area, ms }))),
    functions: largest(functions.values()),
  }
}

/** The summary as the lines a bench prints. */
export function formatSummary(name: string, s: ProfileSummary): string {
  const pct = (ms: number): string => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`
  return [
    `profile ${name}: ${(s.totalMs / 1000).toFixed(1)} s of CPU (idle left out)`,
    '  by area:',
    ...s.areas.map((a) => `    ${pct(a.ms)}  ${a.area}`),
    '  by function (self time):',
    ...s.functions.map((f) => `    ${pct(f.ms)}  ${f.name}  ${f.where}`),
  ].join('\n')
}

/** Prints the summary of every profile in `dir`. */
export function printProfiles(dir: string): void {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
    console.log(formatSummary(file, summarize(profile)))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2]
  if (!dir) {
    console.error('Usage: node dist/bench/profile.js DIR   (a folder of .cpuprofile files)')
    process.exitCode = 2
  } else printProfiles(dir)
}
