import { children, escapeXml, parseXml, path, type XmlElement } from '../core/xml.js'

/**
 * The requests the CX700 sends to Exchange (spec §3.2, §4.2), built as the phone builds them. Tests use
 * them too, so that one text stands for "what the phone asks".
 */

/** The POX Autodiscover request (Outlook provider; request schema 2006, response schema 2006a). */
export const outlookRequest = (email: string): string =>
  '<?xml version="1.0" encoding="utf-8"?>' +
  '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request>' +
  `<EMailAddress>${email}</EMailAddress><AcceptableResponseSchema>` +
  'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>' +
  '</Request></Autodiscover>'

/** A SOAP 1.1 envelope with the EWS namespaces as m: and t:, asking for Exchange2007_SP1. */
export const soapEnvelope = (operation: string): string =>
  '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
  'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" ' +
  'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">' +
  '<soap:Header><t:RequestServerVersion Version="Exchange2007_SP1"/></soap:Header>' +
  `<soap:Body>${operation}</soap:Body></soap:Envelope>`

/** FindItem on a distinguished folder, with an optional paging view and restriction. */
export const findItemRequest = (
  folder: string,
  shape: 'IdOnly' | 'Default' = 'IdOnly',
  view = '',
  restriction = '',
): string =>
  soapEnvelope(
    `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>${shape}</t:BaseShape></m:ItemShape>${view}` +
      `${restriction}<m:ParentFolderIds><t:DistinguishedFolderId Id="${folder}"/></m:ParentFolderIds></m:FindItem>`,
  )

/** GetItem with the Default shape: the item's details and its attachments (spec §4.2, step 2). */
export const getItemRequest = (id: string): string =>
  soapEnvelope(
    '<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>' +
      `<m:ItemIds><t:ItemId Id="${escapeXml(id)}"/></m:ItemIds></m:GetItem>`,
  )

/** GetAttachment: a voice mail's audio (spec §4.2, step 3). */
export const getAttachmentRequest = (id: string): string =>
  soapEnvelope(
    `<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="${escapeXml(id)}"/></m:AttachmentIds></m:GetAttachment>`,
  )

/** The first attachment id of a GetItem answer's item, if it has one. Throws LabDecodeError when not XML. */
export function firstAttachmentId(xml: string): string | undefined {
  const message = path(
    parseXml(xml),
    'Body',
    'GetItemResponse',
    'ResponseMessages',
    'GetItemResponseMessage',
    'Items',
  )
  const item = message ? children(message)[0] : undefined
  const attachment = item ? children(path(item, 'Attachments'))[0] : undefined
  return path(attachment, 'AttachmentId')?.attrs.Id
}

/** The Inbox restricted to missed-call notifications (spec §4.2). */
export const MISSED_CALLS =
  '<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:ItemClass"/><t:FieldURIOrConstant>' +
  '<t:Constant Value="IPM.Note.Microsoft.Missed.Voice"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>'

/**
 * The items of a FindItem answer's first response message; undefined when the answer has no item list (an
 * error response). Throws LabDecodeError when it is not XML.
 */
export function foundItems(xml: string): readonly XmlElement[] | undefined {
  const items = path(
    parseXml(xml),
    'Body',
    'FindItemResponse',
    'ResponseMessages',
    'FindItemResponseMessage',
    'RootFolder',
    'Items',
  )
  return items ? children(items) : undefined
}
