import type { XmlMarkup } from '../../core/xml.js'

/** A response message of an EWS operation: Success with content, or an error code. */
export type Message =
  | { readonly ok: true; readonly content: readonly XmlMarkup[]; readonly warning?: string }
  | { readonly ok: false; readonly code: string; readonly text: string }

export const fail = (code: string, text: string): Message => ({ ok: false, code, text })
export const ok = (...content: readonly XmlMarkup[]): Message => ({ ok: true, content })

/** What an operation answered: its response messages, and for the journal the folders and item count. */
export interface Outcome {
  readonly messages: readonly Message[]
  readonly folder?: string
  readonly items?: number
}
