import { readFileSync, statSync } from 'node:fs'
import type { SchemaProblem } from '../../core/schema/problems.js'
import type { ScenarioCheck } from '../../core/server.js'

type Plain = Record<string, unknown>
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The largest voice-mail audio file served. */
export const AUDIO_MAX = 16 * 1024 * 1024

/**
 * The files the HTTP doubles serve, checked before anything binds: the Device Update Service's folder of
 * update files, and each user's voice-mail audio (readable, a RIFF/WAVE file, at most 16 MiB). Each is
 * resolved against the folder of the file that names it (so a scenario that `extends` another keeps working)
 * and replaced in the document by its absolute path.
 */
export function checkHttp(
  block: Readonly<Record<string, unknown>>,
  scenario: ScenarioCheck,
): SchemaProblem[] {
  return [...checkDusFolder(block, scenario), ...checkVoicemailAudio(scenario)]
}

function checkDusFolder(block: Readonly<Record<string, unknown>>, scenario: ScenarioCheck): SchemaProblem[] {
  const dus = block.dus
  if (!isPlain(dus) || typeof dus.files !== 'string' || dus.files === '') return []
  const pointer = '/servers/http/dus/files'
  const folder = scenario.resolvePath(pointer, dus.files)
  let isDir: boolean
  try {
    isDir = statSync(folder).isDirectory()
  } catch {
    isDir = false
  }
  if (!isDir) return [{ pointer, message: `${folder} is not a folder` }]
  dus.files = folder
  return []
}

function audioProblem(file: string): string | undefined {
  try {
    const st = statSync(file)
    if (!st.isFile()) return 'is not a file'
    if (st.size > AUDIO_MAX) return `is ${st.size} octets; at most ${AUDIO_MAX} are served`
    const head = readFileSync(file).subarray(0, 12)
    if (head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE')
      return 'is not a WAV file (RIFF/WAVE)'
    return undefined
  } catch (err) {
    return `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`
  }
}

function checkVoicemailAudio(scenario: ScenarioCheck): SchemaProblem[] {
  const out: SchemaProblem[] = []
  const users = Array.isArray(scenario.document.users) ? (scenario.document.users as unknown[]) : []
  users.forEach((u, i) => {
    const mailbox = isPlain(u) && isPlain(u.mailbox) ? u.mailbox : undefined
    const voicemail = mailbox && Array.isArray(mailbox.voicemail) ? (mailbox.voicemail as unknown[]) : []
    voicemail.forEach((v, j) => {
      if (!isPlain(v) || typeof v.audio !== 'string' || v.audio === '') return
      const pointer = `/users/${i}/mailbox/voicemail/${j}/audio`
      const file = scenario.resolvePath(pointer, v.audio)
      const problem = audioProblem(file)
      if (problem) out.push({ pointer, message: `${file} ${problem}` })
      else v.audio = file
    })
  })
  return out
}
