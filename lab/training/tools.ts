import { lookupIn, type Lookup } from '../../servers/dns/index.js'
import { directoryOf, type DirEntry } from '../../servers/ldap/index.js'
import type { Lab } from '../runtime.js'

/** One directory object as a search tool lists it: its DN, classes and the attributes the term matched. */
export interface FoundObject {
  readonly dn: string
  readonly objectClass: readonly string[]
  readonly matched: readonly { readonly name: string; readonly value: string }[]
}

const PRINTABLE = /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/

/** An attribute value as text; binary (a certificate) as its size. */
function valueText(v: Buffer): string {
  const text = v.toString('utf8')
  return PRINTABLE.test(text) && !text.includes('\ufffd') ? text : `(binary, ${v.length} bytes)`
}

/** The objects whose DN or an attribute (name or text value) contains `term`, case-insensitive, at most `max`. */
export function searchEntries(entries: readonly DirEntry[], term: string, max = 40): FoundObject[] {
  const t = term.trim().toLowerCase()
  if (t === '') return []
  const out: FoundObject[] = []
  for (const e of entries) {
    const matched: { name: string; value: string }[] = []
    for (const a of e.attributes.values())
      for (const v of a.values) {
        const value = valueText(v)
        if (a.name.toLowerCase().includes(t) || value.toLowerCase().includes(t))
          matched.push({ name: a.name, value: value.slice(0, 200) })
      }
    if (matched.length === 0 && !e.dn.toLowerCase().includes(t)) continue
    const classes = e.attributes.get('objectclass')?.values.map((v) => v.toString('utf8')) ?? []
    out.push({ dn: e.dn, objectClass: classes, matched: matched.slice(0, 8) })
    if (out.length >= max) break
  }
  return out
}

/**
 * A support engineer's tools on one trainee's phone and view (issue 38): nslookup against the lab's DNS as
 * that phone is answered, and a search of the directory its DC serves — read from the scenario the phone
 * meets (its own view where an exercise gave it one), never another phone's.
 */
export interface TraineeTools {
  lookup(mac: string, name: string, type: string): Lookup
  searchDirectory(mac: string, term: string): FoundObject[]
}

export function toolsOnLab(lab: Lab): TraineeTools {
  return {
    lookup: (mac, name, type) => lookupIn(lab.sliceFor('dns', mac), lab.runtimes.dns, name, type),
    searchDirectory: (mac, term) =>
      searchEntries(directoryOf(lab.sliceFor('ldap', mac), lab.pki).entries, term),
  }
}
