import { request as httpRequest } from 'node:http'
import { Readable } from 'node:stream'
import type { ScriptStatus } from '../script.js'
import type { ScenarioProblem } from '../../core/errors.js'
import { LabError } from '../../core/errors.js'
import type { RuleStatus } from '../../core/faults/engine.js'
import type { FaultRule } from '../../core/faults/types.js'
import type { DeviceRef } from '../../core/journal/devices.js'
import type { JournalEvent, JournalFilter } from '../../core/journal/journal.js'
import type { Endpoint, Health } from '../runtime.js'
import type { DnsRecordInput } from '../../servers/dns/schema.js'
import type { ClockChangeRequest, ClockView } from '../admin/clock-view.js'
import type { PhoneCommand } from '../admin/phone-commands.js'
import type { LabSummary, PhoneSummary } from '../admin/routes/summary.js'

export type {
  ClockChangeRequest,
  ClockView,
  Endpoint,
  Health,
  JournalEvent,
  JournalFilter,
  FaultRule,
  RuleStatus,
  DeviceRef,
  LabSummary,
  PhoneSummary,
}

export type { ScriptStatus }

export interface CapturesAnswer {
  /** The bounds in force (octets per device, in all). */
  readonly options: { readonly perDeviceBytes: number; readonly totalBytes: number }
  readonly devices: readonly { key: string; mac?: string; bytes: number; records: number }[]
}

export interface EndpointsAnswer {
  readonly scenario: string
  readonly mode: string
  readonly endpoints: readonly Endpoint[]
  /** The lab's state directory (its CA, and the state of the phones emulated against it). */
  readonly stateDir: string
  /** The scenario file it runs (`<admin>` for one posted as text): `cx700-lab phone` reads its phone block. */
  readonly scenarioFile: string
  /** The addresses the lab stands for in the scenario (its own and its hosts'). */
  readonly siteAddresses: readonly string[]
}

export interface ScenarioAnswer {
  readonly name: string
  readonly file: string
  readonly endpoints: readonly Endpoint[]
}

/** An error the admin API answered with; `problems` lists each scenario or rule problem. */
export class AdminRequestError extends LabError {
  readonly status: number
  readonly problems: readonly (ScenarioProblem | { path: string; message: string })[]
  constructor(status: number, message: string, problems: AdminRequestError['problems']) {
    super('LAB_ERR_ADMIN_REQUEST', message)
    this.status = status
    this.problems = problems
  }
}

function query(
  filter: JournalFilter & { limit?: number; follow?: boolean; stage?: string | undefined },
): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) p.set(k, String(v === true ? 1 : v))
  const s = p.toString()
  return s ? `?${s}` : ''
}

/**
 * `fetch` for an admin API on a unix socket (`unix:/run/cx700-eth1.sock`, as interface mode offers it to the
 * commands): node:http over the socket, answered as a Response (the global fetch cannot reach a socket).
 */
function fetchUnix(socketPath: string, path: string, init: RequestInit): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers = { host: 'localhost', ...(init.headers as Record<string, string> | undefined) }
    const req = httpRequest({ socketPath, path, method: init.method ?? 'GET', headers }, (res) => {
      const answer = new Headers()
      for (const [k, v] of Object.entries(res.headers))
        if (v !== undefined) answer.set(k, Array.isArray(v) ? v.join(', ') : v)
      const empty = res.statusCode === 204 || res.statusCode === 304
      const body = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>)
      if (empty) res.resume()
      resolve(new Response(body, { status: res.statusCode ?? 500, headers: answer }))
    })
    req.on('error', reject)
    init.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true })
    if (typeof init.body === 'string') req.end(init.body)
    else req.end()
  })
}

/** The typed client of the admin API, used by the CLI, the tests and users' scripts. */
export class LabClient {
  readonly baseUrl: string
  readonly #token: string | undefined
  readonly #timeoutMs: number | undefined

  /** `timeoutMs` bounds each request over HTTP (a fleet view must not wait on one lab for ever). */
  constructor(baseUrl: string, token?: string, options: { timeoutMs?: number } = {}) {
    this.baseUrl = baseUrl.replace(/\/$/, '')
    this.#token = token
    this.#timeoutMs = options.timeoutMs
  }

  /** The admin API over HTTP, or over a unix socket for a `unix:PATH` base URL. */
  #fetch(path: string, init: RequestInit): Promise<Response> {
    return this.baseUrl.startsWith('unix:')
      ? fetchUnix(this.baseUrl.slice('unix:'.length), path, init)
      : fetch(this.baseUrl + path, {
          ...init,
          // A request with a signal of its own (a followed journal) is bounded by its caller.
          ...(this.#timeoutMs !== undefined && !init.signal
            ? { signal: AbortSignal.timeout(this.#timeoutMs) }
            : {}),
        })
  }

  async #send(method: string, path: string, body?: { json?: unknown; yaml?: string }): Promise<Response> {
    const headers: Record<string, string> = {}
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`
    let payload: string | undefined
    if (body?.json !== undefined) {
      headers['content-type'] = 'application/json'
      payload = JSON.stringify(body.json)
    } else if (body?.yaml !== undefined) {
      headers['content-type'] = 'text/yaml'
      payload = body.yaml
    }
    try {
      return await this.#fetch(path, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
      })
    } catch (cause) {
      throw new LabError(
        'LAB_ERR_ADMIN_REQUEST',
        `Failed to reach the lab at ${this.baseUrl}: ${(cause as Error).message}. Is it running? (cx700-lab up, or --admin URL)`,
        { cause },
      )
    }
  }

  async #request<T>(method: string, path: string, body?: { json?: unknown; yaml?: string }): Promise<T> {
    const res = await this.#send(method, path, body)
    if (res.status === 204) return undefined as T
    const text = await res.text()
    let data: unknown
    try {
      data = text ? JSON.parse(text) : undefined
    } catch {
      data = { error: text }
    }
    if (!res.ok) {
      const d = (data ?? {}) as { error?: string; problems?: AdminRequestError['problems'] }
      throw new AdminRequestError(res.status, d.error ?? `HTTP ${res.status}`, d.problems ?? [])
    }
    return data as T
  }

  /** Resolves with the health answer whether or not the lab is healthy (503 is an answer too). */
  async health(): Promise<Health> {
    const res = await this.#send('GET', '/health')
    if (res.status === 200 || res.status === 503) return (await res.json()) as Health
    throw new AdminRequestError(res.status, `GET /health answered ${res.status}`, [])
  }

  /** The lab at a glance: scenario, site, each phone's end state, the faults in force, health. */
  summary(): Promise<LabSummary> {
    return this.#request<LabSummary>('GET', '/summary')
  }

  endpoints(): Promise<EndpointsAnswer> {
    return this.#request('GET', '/endpoints')
  }

  async journal(filter: JournalFilter & { limit?: number } = {}): Promise<JournalEvent[]> {
    return (await this.#request<{ events: JournalEvent[] }>('GET', `/journal${query(filter)}`)).events
  }

  /** What the lab keeps of each device's traffic for captures. */
  captures(): Promise<CapturesAnswer> {
    return this.#request('GET', '/capture')
  }

  /** A device's capture (pcapng), all of it or one boot stage. */
  async capture(device: string, stage?: string): Promise<Uint8Array> {
    const res = await this.#send('GET', `/capture/${encodeURIComponent(device)}${query({ stage })}`)
    if (!res.ok) {
      const text = await res.text()
      let error = text
      try {
        error = (JSON.parse(text) as { error?: string }).error ?? text
      } catch {
        // not JSON: the text is the error
      }
      throw new AdminRequestError(res.status, error, [])
    }
    return new Uint8Array(await res.arrayBuffer())
  }

  clearJournal(): Promise<void> {
    return this.#request('POST', '/journal/clear')
  }

  /**
   * Streams journal events (the backlog that matches, then new ones) until `signal` aborts.
   * Resolves when the stream ends.
   */
  async followJournal(
    filter: JournalFilter,
    onEvent: (e: JournalEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const headers: Record<string, string> =
      this.#token !== undefined ? { authorization: `Bearer ${this.#token}` } : {}
    let res: Response
    try {
      res = await this.#fetch(`/journal${query({ ...filter, follow: true })}`, { headers, signal })
    } catch (err) {
      if (signal.aborted) return
      throw err
    }
    if (!res.ok || !res.body) throw new AdminRequestError(res.status, `HTTP ${res.status}`, [])
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true })
        let nl
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          if (line) onEvent(JSON.parse(line) as JournalEvent)
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err
    }
  }

  /** Where lab time stands and how fast it runs. */
  clock(): Promise<ClockView> {
    return this.#request('GET', '/clock')
  }

  /** Runs lab time at another rate and/or moves it on (`advance: '24h'`). */
  changeClock(change: ClockChangeRequest): Promise<ClockView> {
    return this.#request('POST', '/clock', { json: change })
  }

  /** Leaves a command (reboot, power-cycle, hard-reset) for the emulated phone with this MAC. */
  commandPhone(mac: string, command: string): Promise<{ mac: string; command: string }> {
    return this.#request('POST', `/phones/${encodeURIComponent(mac)}/${encodeURIComponent(command)}`)
  }

  /** Takes the commands waiting for the emulated phone with this MAC. */
  phoneCommands(mac: string): Promise<PhoneCommand[]> {
    return this.#request<{ commands: PhoneCommand[] }>(
      'GET',
      `/phones/${encodeURIComponent(mac)}/commands`,
    ).then((r) => r.commands)
  }

  faults(): Promise<RuleStatus[]> {
    return this.#request<{ faults: RuleStatus[] }>('GET', '/faults').then((r) => r.faults)
  }

  addFault(rule: FaultRule): Promise<RuleStatus> {
    return this.#request('POST', '/faults', { json: rule })
  }

  removeFault(id: string): Promise<void> {
    return this.#request('DELETE', `/faults/${encodeURIComponent(id)}`)
  }

  clearFaults(): Promise<{ cleared: number }> {
    return this.#request('DELETE', '/faults')
  }

  /** The scenario's script: its steps, which fired when, which is next, whether it is paused. */
  script(): Promise<{ script: ScriptStatus }> {
    return this.#request('GET', '/script')
  }

  /** Pauses, resumes, skips the waiting step of, or restarts the scenario's script. */
  controlScript(verb: 'pause' | 'resume' | 'skip' | 'restart'): Promise<{ script: ScriptStatus }> {
    return this.#request('POST', `/script/${verb}`)
  }

  /** Validates and swaps the scenario; on error the running one stays and every problem is listed. */
  /** `from`: the file it was read from, which the dashboard shows as the scenario in force. */
  loadScenario(yaml: string, from?: string): Promise<ScenarioAnswer> {
    return from === undefined
      ? this.#request('POST', '/scenario', { yaml })
      : this.#request('POST', '/scenario', { json: { yaml, from } })
  }

  loadScenarioFile(path: string): Promise<ScenarioAnswer> {
    return this.#request('POST', '/scenario', { json: { path } })
  }

  devices(): Promise<DeviceRef[]> {
    return this.#request<{ devices: DeviceRef[] }>('GET', '/devices').then((r) => r.devices)
  }

  /** What DNS serves (to a device no view matches) and the changes made at runtime. */
  dnsRecords(): Promise<DnsRecordsAnswer> {
    return this.#request('GET', '/dns/records')
  }

  /** Adds a record (replacing those of its name and type) while the lab runs. */
  addDnsRecord(record: DnsRecordInput): Promise<DnsChangeView> {
    return this.#request('POST', '/dns/records', { json: record })
  }

  /** Hides the records of a name (of one type, or every type), derived or added. */
  removeDnsRecords(name: string, type?: string): Promise<DnsChangeView> {
    const q = new URLSearchParams({ name, ...(type !== undefined ? { type } : {}) })
    return this.#request('DELETE', `/dns/records?${q.toString()}`)
  }

  undoDnsChange(id: string): Promise<void> {
    return this.#request('DELETE', `/dns/changes/${encodeURIComponent(id)}`)
  }

  resetDnsChanges(): Promise<{ undone: number }> {
    return this.#request('DELETE', '/dns/changes')
  }
}

export interface DnsRecordView {
  readonly name: string
  readonly type: string
  readonly value: string
  readonly ttl: number
}

export interface DnsChangeView {
  readonly id: string
  readonly op: 'add' | 'remove'
  readonly input?: DnsRecordInput
  readonly remove?: { readonly name: string; readonly type?: string }
}

export interface DnsRecordsAnswer {
  readonly records: readonly DnsRecordView[]
  readonly changes: readonly DnsChangeView[]
}
