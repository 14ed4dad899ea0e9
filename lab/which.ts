import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/** The path of an executable on PATH (plus the sbin folders root's tools live in), or undefined. */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin']
  for (const d of dirs) {
    if (!d) continue
    const p = join(d, name)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // not here
    }
  }
  return undefined
}
