import { Writable } from 'node:stream'
import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

export interface LoggerOptions {
  /** pino level; defaults to LAB_LOG_LEVEL, else 'info' (or 'silent' when `quietByDefault`). */
  readonly level?: string
  /** Human-readable lines instead of JSON (the CLI turns this on for a TTY). */
  readonly pretty?: boolean
  readonly destination?: NodeJS.WritableStream
  /** Tests pass true: silent unless LAB_LOG_LEVEL is set. */
  readonly quietByDefault?: boolean
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
}
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'server'])

/** Formats one pino JSON line as `13:05:01 INFO  [ntp] message key=value`. */
export function prettyLine(json: string): string {
  let rec: Record<string, unknown>
  try {
    rec = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 19) : ''
  const level = (LEVEL_NAMES[Number(rec.level)] ?? String(rec.level)).padEnd(5)
  const server = typeof rec.server === 'string' ? `[${rec.server}] ` : ''
  const extras = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ')
  const msg = typeof rec.msg === 'string' ? rec.msg : JSON.stringify(rec.msg ?? '')
  return `${time} ${level} ${server}${msg}${extras ? ' ' + extras : ''}`
}

function prettyStream(out: NodeJS.WritableStream): DestinationStream {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) out.write(prettyLine(line) + '\n')
      cb()
    },
  })
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LAB_LOG_LEVEL ?? (options.quietByDefault ? 'silent' : 'info')
  const out = options.destination ?? process.stderr
  const dest: DestinationStream = options.pretty ? prettyStream(out) : out
  return pino({ level, base: null }, dest)
}

/** The logger tests use: silent unless LAB_LOG_LEVEL is set. */
export function testLogger(): Logger {
  return createLogger({ quietByDefault: true, pretty: true })
}
