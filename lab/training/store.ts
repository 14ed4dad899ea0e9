import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TraineeEdit } from './edits.js'
import type { Tool } from './pack.js'

/** One thing a trainee did with their tools: looked something up, changed their view, checked their fix. */
export interface Action {
  /** Wall time (ms). */
  readonly at: number
  readonly tool: Tool | 'check'
  readonly what: string
}

/** A trainee's attempt as kept on disk: the exercise by its id. */
export interface AttemptSnapshot {
  readonly exercise: string
  readonly assignedAt: number
  readonly fromSeq: number
  readonly faultIds: readonly string[]
  readonly hintsShown: number
  /** Kept since the hands-on exercises (absent in a session kept before them). */
  readonly actions?: readonly Action[]
  readonly edits?: readonly TraineeEdit[]
  readonly editSeq?: number
  readonly answer?: string
  readonly answeredAt?: number
  readonly correct?: boolean
  readonly late?: boolean
}

/** A training session as kept on disk: who is in the class, on which phone, with which token, and what they did. */
export interface SessionSnapshot {
  readonly version: 1
  /** The exercise pack's file: a snapshot of another pack is not restored. */
  readonly pack: string
  readonly next: number
  readonly trainees: readonly {
    readonly id: string
    readonly name: string
    readonly device: string
    readonly token: string
    readonly attempts: readonly AttemptSnapshot[]
  }[]
  readonly story?: { readonly name: string; readonly trainees: readonly string[] }
}

/** Where a session is kept between runs of the lab. */
export interface SessionStore {
  load(): SessionSnapshot | undefined
  save(snapshot: SessionSnapshot): void
}

/**
 * A session kept in the lab's state folder (`training/session.json`, 0600: it holds the trainees' tokens),
 * written whole to a temporary file and renamed over the last one, so a kill at any moment leaves either
 * the session before the change or after it.
 */
export function fileStore(stateDir: string): SessionStore {
  const dir = join(stateDir, 'training')
  const file = join(dir, 'session.json')
  return {
    load: () => {
      let text: string
      try {
        text = readFileSync(file, 'utf8')
      } catch {
        return undefined
      }
      try {
        const s = JSON.parse(text) as SessionSnapshot
        return s.version === 1 && Array.isArray(s.trainees) ? s : undefined
      } catch {
        return undefined
      }
    },
    save: (snapshot) => {
      mkdirSync(dir, { recursive: true })
      const tmp = `${file}.${process.pid}.tmp`
      try {
        writeFileSync(tmp, JSON.stringify(snapshot), { mode: 0o600 })
        renameSync(tmp, file)
      } catch (err) {
        rmSync(tmp, { force: true })
        throw err
      }
    },
  }
}
