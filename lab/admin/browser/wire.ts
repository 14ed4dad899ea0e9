/**
 * The admin API's answers as the pages read them: only what they use. A root-program test holds each to the
 * type the server answers with (`expectTypeOf`), so a renamed field fails the typecheck, not a browser.
 */

export interface StageState {
  readonly count: number
  readonly failed: number
  readonly last: 'ok' | 'failed'
}

export interface LaneEvent {
  readonly seq: number
  readonly time: string
  readonly stage: string
  readonly summary: string
  readonly ok: boolean
  readonly detail: Readonly<Record<string, unknown>>
}

/** One phone's lane (GET /timeline). */
export interface Lane {
  readonly key: string
  readonly macs: readonly string[]
  readonly ips: readonly string[]
  readonly users: readonly string[]
  readonly events: readonly LaneEvent[]
  readonly stages: Readonly<Partial<Record<string, StageState>>>
  readonly screen: string
  readonly alert?: string
  readonly lastTime: string
}

/** A step of the scenario's script that fired (GET /script). */
export interface FiredStep {
  readonly step: number
  readonly name?: string
  readonly at: string
}

export interface ScriptStatus {
  readonly steps: number
  readonly fired: readonly FiredStep[]
  readonly next?: number
  readonly paused: boolean
}

/** A fault rule in force (GET /faults). */
export interface FaultInForce {
  readonly id: string
  readonly origin: string
  readonly applied: number
  readonly rule: { readonly match?: unknown; readonly fault: unknown; readonly times?: number }
}

/** Whether the journal file is being written (GET /health, `journalFile`). */
export interface JournalFileStatus {
  readonly writing: boolean
  readonly missing: number
  readonly error?: string
}

/** A bound socket (GET /endpoints). */
export interface Endpoint {
  readonly server: string
  readonly name: string
  readonly transport: string
  readonly address: string
  readonly port: number
  readonly standardPort: number
  readonly hosts: readonly string[]
}

export interface Registration {
  readonly user: string
  readonly contact: string
  readonly peer: string
  readonly since: string
  readonly until: string
  readonly refreshed: number
}

/** What GET /trainee/state shows a trainee. */
/** The tools an exercise may hand a trainee, in the page's order (held to lab/training/pack.ts TOOLS). */
export const TRAINEE_TOOLS = [
  'dns-lookup',
  'directory-search',
  'journal',
  'capture',
  'dns-edit',
  'dhcp-edit',
] as const
export type TraineeTool = (typeof TRAINEE_TOOLS)[number]

/** One event of the trainee's phone, as their journal tool shows it (✓/✗ only where verdicts are allowed). */
export interface TraineeEvent {
  readonly time: string
  readonly stage?: string
  readonly ok?: boolean
  readonly summary: string
}

export interface TraineeState {
  readonly name: string
  readonly device: string
  readonly phone: {
    /** The status line of the one screen inference. */
    readonly screen: string
    /** Whether the phone has talked to the lab yet. */
    readonly talked: boolean
    readonly stages: Readonly<Partial<Record<string, StageState>>>
  }
  readonly exercise?: {
    /** A hands-on exercise: judged by the phone, not answered from choices. */
    readonly fix: boolean
    readonly question: string
    readonly choices: readonly string[]
    readonly tools: readonly TraineeTool[]
    readonly done: readonly { readonly afterMs: number; readonly tool: string; readonly what: string }[]
    readonly hints: readonly string[]
    readonly hintsLeft: number
    readonly timeLeftMs: number
  }
  readonly reveal?: {
    readonly title: string
    readonly yours: string | null
    readonly fix: boolean
    readonly answer: string
    readonly correct: boolean
    readonly late: boolean
    readonly notes: string
    readonly proof: readonly { readonly time: string; readonly server: string; readonly summary: string }[]
  }
}

/** One lab of the fleet view (`GET /fleet` of `cx700-lab fleet --serve`). */
export interface FleetRow {
  readonly name: string
  readonly site?: string
  readonly dashboard: string
  readonly reachable: boolean
  readonly error?: string
  readonly scenario?: string
  readonly domain?: string
  readonly healthy?: boolean
  readonly phones: readonly { key: string; screen: string; signedIn: boolean; alert?: string }[]
  readonly faults: readonly string[]
}
