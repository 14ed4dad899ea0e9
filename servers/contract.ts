import type { TObject } from '@sinclair/typebox'
import type { LabPki } from '../certs/pki.js'
import type { LabDeps, ServerDefinition } from '../core/server.js'

/** What a protocol server is injected: the foundation's dependencies plus the lab PKI in force. */
export interface ServerDeps extends LabDeps {
  /** The lab PKI in force (it changes when a reload changes the scenario's `pki`). */
  readonly pki: () => LabPki
}

/** A server registry entry (core's ServerDefinition, injected with ServerDeps). */
export type LabServerDefinition<S extends TObject, C, R = undefined> = ServerDefinition<S, C, R, ServerDeps>
