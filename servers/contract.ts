import type { TObject } from '@sinclair/typebox'
import type { LabPki } from '../certs/pki.js'
import type { KerberosRealm } from '../core/auth/krb5/realm.js'
import type { LabDeps, ServerDefinition } from '../core/server.js'

/** What a protocol server is injected: the foundation's dependencies plus the lab PKI in force. */
export interface ServerDeps extends LabDeps {
  /** The lab PKI in force (it changes when a reload changes the scenario's `pki`). */
  readonly pki: () => LabPki
  /** The Kerberos realm in force: its principals and keys (the users change with the scenario). */
  readonly kerberos: () => KerberosRealm
}

/** A server registry entry (core's ServerDefinition, injected with ServerDeps). */
export type LabServerDefinition<S extends TObject, C, R = undefined> = ServerDefinition<S, C, R, ServerDeps>
