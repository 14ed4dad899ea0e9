import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LabClient } from '../lab/client/index.js'
import { defaultStateDir } from '../lab/paths.js'

export const DEFAULT_ADMIN = { host: '127.0.0.1', port: 8700 }

export interface CurrentLab {
  readonly pid: number
  readonly adminUrl: string
  readonly token?: string
  readonly runDir: string
}

export function currentFile(stateDir: string): string {
  return join(stateDir, 'current.json')
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** The running lab a command talks to: --admin, then $LAB_ADMIN_URL, then <state>/current.json, then the default. */
export function findLab(
  admin: string | undefined,
  token: string | undefined,
  stateDir = defaultStateDir(),
): LabClient {
  const tok = token ?? process.env.LAB_ADMIN_TOKEN
  if (admin !== undefined) return new LabClient(/^https?:/.test(admin) ? admin : `http://${admin}`, tok)
  if (process.env.LAB_ADMIN_URL) return new LabClient(process.env.LAB_ADMIN_URL, tok)
  const file = currentFile(stateDir)
  if (existsSync(file)) {
    try {
      const cur = JSON.parse(readFileSync(file, 'utf8')) as CurrentLab
      if (alive(cur.pid)) return new LabClient(cur.adminUrl, tok ?? cur.token)
    } catch {
      // A stale or half-written file: fall through to the default.
    }
  }
  return new LabClient(`http://${DEFAULT_ADMIN.host}:${DEFAULT_ADMIN.port}`, tok)
}
