import { describe, expect, it } from 'vitest'
import { areaOf, formatSummary, shortUrl, summarize } from './profile.js'

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber })

describe('bench profile summary', () => {
  it('names areas by the lab folder, the dependency or Node', () => {
    expect(areaOf('file:///w/dist/core/journal/journal.js', 'record')).toBe('core/journal')
    expect(areaOf('file:///w/dist/servers/dns/server.js', 'x')).toBe('servers/dns')
    expect(areaOf('file:///w/dist/cli/up.js', 'up')).toBe('cli')
    expect(areaOf('file:///w/dist/core/auth/krb5/crypto.js', 'hmac')).toBe('core/auth')
    expect(areaOf('file:///w/node_modules/@peculiar/x509/build/x509.cjs.js', 'f')).toBe('@peculiar/x509')
    expect(areaOf('file:///w/node_modules/pino/lib/proto.js', 'f')).toBe('pino')
    expect(areaOf('node:internal/dgram', 'send')).toBe('node internals')
    expect(areaOf('', '(garbage collector)')).toBe('(garbage collector)')
    expect(areaOf('', 'writeSync')).toBe('(native)')
    expect(shortUrl('file:///w/node_modules/ajv/dist/compile/index.js')).toBe(
      'node_modules/ajv/dist/compile/index.js',
    )
    expect(shortUrl('file:///w/dist/core/journal/journal.js')).toBe('dist/core/journal/journal.js')
  })

  it('adds self time per function and area, idle left out, largest first', () => {
    const s = summarize({
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('record', 'file:///w/dist/core/journal/journal.js', 9) },
        { id: 4, callFrame: frame('decodeDns', 'file:///w/dist/servers/dns/codec.js', 99) },
        { id: 5, callFrame: frame('record', 'file:///w/dist/core/journal/journal.js', 9) },
      ],
      samples: [2, 3, 4, 3, 5, 2],
      timeDeltas: [5000, 1000, 2000, 1000, 1000, 5000],
    })
    expect(s.totalMs).toBe(5)
    expect(s.areas).toEqual([
      { area: 'core/journal', ms: 3 },
      { area: 'servers/dns', ms: 2 },
    ])
    expect(s.functions[0]).toEqual({ name: 'record', where: 'dist/core/journal/journal.js:10', ms: 3 })
    expect(formatSummary('lab.cpuprofile', s)).toContain(' 60.0%  core/journal')
  })
})
