import type { BoundPort } from '../core/server.js'
import type { ClockChange } from '../core/clock.js'

/** The lab's own journal events (server `lab`): its life, its clock, its script, commands to phones. */
export interface LabEvents {
  readonly 'lab:started': LabRunningDetail & { readonly scenario: string }
  readonly 'lab:reloaded': LabRunningDetail & { readonly from: string; readonly to: string }
  readonly 'lab:reload-failed': Readonly<Record<string, never>>
  readonly 'lab:failed': Readonly<Record<string, never>>
  readonly 'lab:stopped': Readonly<Record<string, never>>
  /** The clock's rate changed or it was advanced; or `verify` fast-forwards it whenever its phone waits. */
  readonly 'lab:clock':
    | (ClockChange & { readonly labTime: string; readonly wallTime: string; readonly rate: number })
    | { readonly kind: 'fast-forward'; readonly labMs: number }
  readonly 'lab:phone-command': { readonly mac: string; readonly command: string }
  /** One device was given a scenario of its own (a trainee's story exercise), or its own was taken back. */
  readonly 'lab:device-view': {
    readonly mac: string
    /** The scenario the device now meets; absent when it is back on the lab's. */
    readonly scenario?: string
    readonly servers: readonly string[]
    readonly faults: readonly string[]
  }
  readonly 'lab:script': { readonly what: string; readonly next: number }
  readonly 'lab:script-step': {
    readonly step: number
    readonly name: string
    readonly firedAt: string
    readonly actions: readonly string[]
    /** The journal event that triggered the step (`on`). */
    readonly trigger?: number
  }
}

/** What the lab serves once it runs: its scenario's file and the sockets bound. */
interface LabRunningDetail {
  readonly file: string
  readonly endpoints: readonly BoundPort[]
}

/** The PKI's journal event (server `pki`): the root in force, the CAs made, the server certificates. */
export interface PkiEvents {
  readonly 'pki:ready': {
    readonly root: { readonly subject: string; readonly serial: string; readonly thumbprint: string }
    readonly created: readonly string[]
    readonly servers: readonly {
      readonly host: string
      readonly names: readonly string[]
      readonly profile: object
    }[]
  }
}
