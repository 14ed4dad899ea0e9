import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { LabDecodeError } from './errors.js'

/**
 * The XML codec of the lab (Autodiscover, EWS, OCS provisioning, DUS; the emulator's too): pure. Parsing goes through
 * fast-xml-parser with its validator on (the parser alone is lenient: `<a><b></a>` parses), refuses any DTD
 * (SOAP 1.1 §3 forbids one, and a DTD is the only way to an entity bomb) and caps depth and element count, so
 * no body can make the lab spend more than it received. Namespace prefixes are dropped: Exchange's own
 * parsers match local names within known namespaces, and clients disagree on prefixes.
 */

/** One element: its local name, attributes (local names), element children in order, and its text. */
export interface XmlElement {
  readonly name: string
  readonly attrs: Readonly<Record<string, string>>
  readonly children: readonly XmlElement[]
  readonly text: string
}

export interface XmlLimits {
  /** Nesting depth. */
  readonly depth: number
  /** Elements in the document. */
  readonly elements: number
}
const LIMITS: XmlLimits = { depth: 64, elements: 20_000 }

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: LIMITS.depth,
})

type Ordered = Record<string, unknown>

/** Parses a document into its root element, or throws LabDecodeError (LAB_ERR_XML_DECODE) saying where. */
export function parseXml(text: string, limits: XmlLimits = LIMITS): XmlElement {
  if (/<!DOCTYPE/i.test(text))
    throw new LabDecodeError('LAB_ERR_XML_DECODE', 'a DTD is not allowed (no entities are expanded)', 0)
  const valid = XMLValidator.validate(text)
  if (valid !== true) {
    const { msg, line, col } = valid.err
    throw new LabDecodeError('LAB_ERR_XML_DECODE', `line ${line}, column ${col}: ${msg}`, 0)
  }
  let nodes: Ordered[]
  try {
    nodes = parser.parse(text) as Ordered[]
  } catch (err) {
    // The parser's own limits (nesting, entities) throw plain Errors: input errors all the same.
    throw new LabDecodeError('LAB_ERR_XML_DECODE', (err as Error).message, 0, { cause: err })
  }
  let count = 0
  const convert = (node: Ordered, depth: number): XmlElement => {
    if (depth > limits.depth)
      throw new LabDecodeError('LAB_ERR_XML_DECODE', `elements nested deeper than ${limits.depth}`, 0)
    if (++count > limits.elements)
      throw new LabDecodeError('LAB_ERR_XML_DECODE', `more than ${limits.elements} elements`, 0)
    const name = Object.keys(node).find((k) => k !== ':@')!
    const attrs: Record<string, string> = {}
    for (const [k, v] of Object.entries((node[':@'] as Record<string, unknown> | undefined) ?? {}))
      if (k !== 'xmlns' && !k.startsWith('xmlns:')) attrs[k] = String(v)
    const children: XmlElement[] = []
    let text = ''
    for (const c of node[name] as Ordered[]) {
      if ('#text' in c) text += String(c['#text'])
      else if (!('#comment' in c)) children.push(convert(c, depth + 1))
    }
    return { name, attrs, children, text }
  }
  const roots = nodes.filter((n) => !('#comment' in n) && !('#text' in n))
  if (roots.length !== 1)
    throw new LabDecodeError(
      'LAB_ERR_XML_DECODE',
      `a document has one root element (found ${roots.length})`,
      0,
    )
  return convert(roots[0]!, 1)
}

/** The first child of `el` named `name` (local name, case-sensitive as XML is). */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name)
}

/** The element at a path of local names below `el`. */
export function path(el: XmlElement | undefined, ...names: readonly string[]): XmlElement | undefined {
  let at = el
  for (const n of names) at = child(at, n)
  return at
}

/** Every child of `el` named `name`, or every child when no name is given. */
export function children(el: XmlElement | undefined, name?: string): readonly XmlElement[] {
  if (!el) return []
  return name === undefined ? el.children : el.children.filter((c) => c.name === name)
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}

/** Escapes text and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

/** A child of `x`: markup from another `x` call, or text (escaped); absent values are left out. */
export type XmlContent = string | number | boolean | XmlMarkup | undefined | readonly XmlContent[]

/** Markup already serialized (so that it is not escaped again). */
export class XmlMarkup {
  constructor(readonly xml: string) {}
}

function serialize(c: XmlContent): string {
  if (c === undefined) return ''
  if (c instanceof XmlMarkup) return c.xml
  if (typeof c === 'string' || typeof c === 'number' || typeof c === 'boolean') return escapeXml(String(c))
  return c.map(serialize).join('')
}

/** Serializes one element: `x('t:Subject', {}, 'Hi')` → `<t:Subject>Hi</t:Subject>`. */
export function x(
  name: string,
  attrs: Readonly<Record<string, string | number | boolean | undefined>> = {},
  ...content: readonly XmlContent[]
): XmlMarkup {
  let open = `<${name}`
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) open += ` ${k}="${escapeXml(String(v))}"`
  const body = content.map(serialize).join('')
  return new XmlMarkup(body === '' ? `${open}/>` : `${open}>${body}</${name}>`)
}

/** A whole document with the XML declaration. */
export function xmlDocument(root: XmlMarkup): string {
  return `<?xml version="1.0" encoding="utf-8"?>${root.xml}`
}

/** A SOAP 1.1 request: its operation (the first element in the Body), or why it has none. */
/** A SOAP 1.1 request: its operation (the Body's first child) and its Header, if any. */
export type SoapRequest =
  { readonly op: XmlElement; readonly header: XmlElement | undefined } | { readonly problem: string }

export function soapRequest(body: string | XmlElement): SoapRequest {
  let root: XmlElement
  try {
    root = typeof body === 'string' ? parseXml(body) : body
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return { problem: `The request is not well-formed XML: ${err.message}` }
  }
  const op = root.name === 'Envelope' ? path(root, 'Body')?.children[0] : undefined
  return op ? { op, header: path(root, 'Header') } : { problem: 'Expected a SOAP 1.1 Envelope with a Body.' }
}
