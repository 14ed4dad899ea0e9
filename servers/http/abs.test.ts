import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../core/errors.js'
import { absDay, decodeDabs, encodeDabs, fullFileName } from './abs.js'

describe('the lab’s device address-book file (ADR 0013)', () => {
  it('round-trips its entries; tabs and line ends in a name cannot break a line', () => {
    const entries = [
      { sipAddress: 'alice@contoso.test', displayName: 'Alice\tAnders\n', email: 'alice@contoso.test' },
      { sipAddress: 'bob@contoso.test', displayName: 'Bob Baker', email: 'bob@contoso.test' },
    ]
    const book = decodeDabs(encodeDabs(entries, new Date('2026-11-29T01:30:00Z')))
    expect(book.generatedAt).toBe('2026-11-29T01:30:00.000Z')
    expect(book.entries).toEqual([{ ...entries[0], displayName: 'Alice Anders ' }, entries[1]])
  })

  it('names the full file of a day as [MS-ABS] §1.3 does: days after 2001-01-01 UTC, four hex digits', () => {
    expect(absDay(Date.UTC(2001, 0, 1))).toBe(0)
    // §1.3: "F-0A8C.lsabs would be the address book file for Saturday, May 24, 2008".
    expect(fullFileName(absDay(Date.parse('2008-05-24T12:00:00Z')))).toBe('F-0A8C.dabs')
    // §3.1's example: the full file of Monday, January 21, 2008 is F-0A10.
    expect(fullFileName(absDay(Date.parse('2008-01-21T00:00:00Z')))).toBe('F-0A10.dabs')
    expect(fullFileName(absDay(Date.parse('2008-01-20T23:59:59Z')))).toBe('F-0A0F.dabs')
  })

  it('gives entries or a LabDecodeError for anything, never another error', () => {
    for (let i = 0; i < 2_000; i++) {
      const bytes =
        i % 2 === 0
          ? randomBytes(i % 300)
          : Buffer.concat([Buffer.from('CX700LAB-DABS/1 x\n'), randomBytes(i % 200)])
      try {
        const b = decodeDabs(bytes)
        expect(Array.isArray(b.entries)).toBe(true)
      } catch (err) {
        expect(err).toBeInstanceOf(LabDecodeError)
      }
    }
  })
})
