import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs'
import { join, sep } from 'node:path'

/** Why a file inside a folder was not read. */
export type InsideRefusal = 'missing' | 'outside' | 'not-a-file' | 'too-large'

/**
 * Reads `relative` under `folder` only if, with every symbolic link resolved, it is a regular file inside the
 * folder and at most `maxBytes` long: a link (to /etc/passwd, or a version directory linked elsewhere) that
 * leads out of the folder is refused as if the file were not there.
 */
export function readFileInside(
  folder: string,
  relative: string,
  maxBytes: number,
): { bytes: Buffer } | { refused: InsideRefusal } {
  let root: string
  let real: string
  try {
    root = realpathSync(folder)
    real = realpathSync(join(folder, relative))
  } catch {
    return { refused: 'missing' }
  }
  if (!real.startsWith(`${root}${sep}`)) return { refused: 'outside' }
  let fd: number
  try {
    fd = openSync(real, 'r')
  } catch {
    return { refused: 'missing' }
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) return { refused: 'not-a-file' }
    if (st.size > maxBytes) return { refused: 'too-large' }
    const bytes = Buffer.alloc(st.size)
    let at = 0
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at)
      if (n === 0) break
      at += n
    }
    return { bytes: bytes.subarray(0, at) }
  } finally {
    closeSync(fd)
  }
}
