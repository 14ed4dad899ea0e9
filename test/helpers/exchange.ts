import type { XmlElement } from '../../core/xml.js'

/** What the phone asks Exchange (phone/requests.ts), for tests; and how to read an answer. */
export { outlookRequest, soapEnvelope, findItemRequest as findItem } from '../../phone/requests.js'
import { foundItems as readItems } from '../../phone/requests.js'

/** The items of a FindItem answer (none when it has no item list). */
export const foundItems = (xml: string): readonly XmlElement[] => readItems(xml) ?? []
