import { children, parseXml, path, type XmlElement } from '../../lab/xml.js'

/** Requests the phone (or an EWS client) sends to the Exchange doubles, for tests. */

/** The POX Autodiscover request of Outlook 2007 (spec §3.2), compact. */
export const outlookRequest = (email: string): string =>
  '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request>' +
  `<EMailAddress>${email}</EMailAddress><AcceptableResponseSchema>` +
  'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>' +
  '</Request></Autodiscover>'

/** A SOAP 1.1 envelope with the EWS namespaces as m: and t:, around one operation. */
export const soapEnvelope = (operation: string): string =>
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" ' +
  'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">' +
  '<soap:Header><t:RequestServerVersion Version="Exchange2007_SP1"/></soap:Header>' +
  `<soap:Body>${operation}</soap:Body></soap:Envelope>`

/** EWS FindItem on a distinguished folder (spec §4.2). */
export const findItem = (folder: string, shape: 'IdOnly' | 'Default' = 'IdOnly', view = ''): string =>
  soapEnvelope(
    `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>${shape}</t:BaseShape></m:ItemShape>${view}` +
      `<m:ParentFolderIds><t:DistinguishedFolderId Id="${folder}"/></m:ParentFolderIds></m:FindItem>`,
  )

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
