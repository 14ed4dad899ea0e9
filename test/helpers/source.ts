import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Every TypeScript source file under `dir` (tests and declaration files left out), for the architecture tests. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}
