import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from './errors.js'
import { child, children, escapeXml, parseXml, path, x, xmlDocument } from './xml.js'

const decodeError = (f: () => unknown): string => {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(LabDecodeError)
    return (err as LabDecodeError).message
  }
  throw new Error('expected a LabDecodeError')
}

describe('XML codec', () => {
  it('parses a SOAP request into local names, attributes, ordered children and text', () => {
    const root = parseXml(
      `<?xml version="1.0"?><soap:Envelope xmlns:soap="s" xmlns:t="t"><soap:Body>` +
        `<m:FindItem Traversal="Shallow" xmlns:m="m"><t:A>x &amp; y</t:A><t:A/><!-- c --><t:B Id="1"/></m:FindItem>` +
        `</soap:Body></soap:Envelope>`,
    )
    expect(root.name).toBe('Envelope')
    const op = path(root, 'Body', 'FindItem')!
    expect(op.attrs).toEqual({ Traversal: 'Shallow' })
    expect(children(op).map((c) => c.name)).toEqual(['A', 'A', 'B'])
    expect(child(op, 'A')?.text).toBe('x & y')
    expect(children(op, 'B')[0]?.attrs.Id).toBe('1')
  })

  it('refuses what is not well-formed, which the parser alone would accept', () => {
    expect(decodeError(() => parseXml('<a><b></a>'))).toMatch(/line 1, column \d+: .*closing tag/)
    expect(decodeError(() => parseXml(''))).toMatch(/./)
    expect(decodeError(() => parseXml('<a/><b/>'))).toMatch(/./)
  })

  it('refuses any DTD, so no entity is ever expanded (billion laughs, external entities)', () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><a>&lol2;</a>'
    expect(decodeError(() => parseXml(bomb))).toContain('DTD is not allowed')
    expect(decodeError(() => parseXml('<!doctype a SYSTEM "file:///etc/passwd"><a/>'))).toContain('DTD')
  })

  it('caps depth and element count', () => {
    expect(decodeError(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100)))).toMatch(/nested/i)
    expect(decodeError(() => parseXml(`<r>${'<e/>'.repeat(30)}</r>`, { depth: 64, elements: 20 }))).toContain(
      'more than 20 elements',
    )
  })

  it('serializes with escaping, leaving out absent content', () => {
    const doc = xmlDocument(x('t:Subject', { Id: 'a"b', None: undefined }, 'Q&A <1>', undefined, [x('t:X')]))
    expect(doc).toBe(
      '<?xml version="1.0" encoding="utf-8"?><t:Subject Id="a&quot;b">Q&amp;A &lt;1&gt;<t:X/></t:Subject>',
    )
    expect(escapeXml(`'`)).toBe('&apos;')
    // What the builder writes, the parser reads back.
    expect(parseXml(doc).text).toBe('Q&A <1>')
  })

  it('never throws anything but LabDecodeError on random input (fuzz)', () => {
    const xmlish = fc.stringMatching(/^[<>/a-z="' &;!?\-[\]x]{0,80}$/)
    fc.assert(
      fc.property(fc.oneof(fc.string(), xmlish), (s) => {
        try {
          parseXml(s)
        } catch (err) {
          if (!(err instanceof LabDecodeError)) throw err
        }
      }),
      { numRuns: 3000, seed: 7 },
    )
  })
})
