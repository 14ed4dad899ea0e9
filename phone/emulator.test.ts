import { describe, expect, it } from 'vitest'
import { parseGuesses } from './emulator.js'

describe('the emulator’s guesses', () => {
  it('reads overrides of the spec’s GUESSes, and names a bad one', () => {
    expect(
      parseGuesses([
        'option119=both',
        'sni=true',
        'autodiscover=https-autodiscover,http-redirect',
        'kerberos=off',
        'wins=only',
      ]),
    ).toEqual({
      option119: 'both',
      sni: true,
      autodiscover: ['https-autodiscover', 'http-redirect'],
      kerberos: 'off',
      wins: 'only',
    })
    expect(() => parseGuesses(['option119=maybe'])).toThrow(
      '--guess option119 takes ascii | rfc3397 | both, not "maybe"',
    )
    expect(() => parseGuesses(['colour=blue'])).toThrow('is not a guess the emulator has')
  })
})
