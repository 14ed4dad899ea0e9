import { children, parseXml, path, type XmlElement } from '../../lab/xml.js'

/** What the phone asks Exchange (phone/requests.ts), for tests; and how to read an answer. */
export { outlookRequest, soapEnvelope, findItemRequest as findItem } from '../../phone/requests.js'

/** The items of a FindItem answer (its first response message). */
export const foundItems = (xml: string): readonly XmlElement[] =>
  children(
    path(
      parseXml(xml),
      'Body',
      'FindItemResponse',
      'ResponseMessages',
      'FindItemResponseMessage',
      'RootFolder',
      'Items',
    ),
  )
