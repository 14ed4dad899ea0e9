import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { join } from 'node:path'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeNtp } from '../../servers/ntp/codec.js'
import { MINIMAL_SCENARIO, startTestLab, type TestLab } from '../helpers/lab.js'
import { clientRequest } from '../helpers/ntp-client.js'
import { tool } from '../helpers/tools.js'

const chronyd = tool('chronyd', 'chrony')
const run = promisify(execFile)

/**
 * chronyd -Q measures the offset of a server and never sets the clock. Its log says what it made of the
 * answers: "System clock wrong by N seconds", "Received KoD RATE", or "No suitable source".
 */
async function chronydAgainst(t: TestLab, seconds: number): Promise<string> {
  const conf = [
    `server 127.0.0.1 port ${t.port('ntp')} iburst minpoll -4 maxpoll -4 maxsamples 2`,
    `pidfile ${join(t.dir, 'chronyd.pid')}`,
  ]
  try {
    const { stdout, stderr } = await run(
      chronyd.path!,
      ['-Q', '-d', '-f', '/dev/null', '-t', String(seconds), ...conf],
      { timeout: (seconds + 5) * 1000 },
    )
    return stdout + stderr
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string }
    return (e.stdout ?? '') + (e.stderr ?? '')
  }
}

function wrongBy(log: string): number | undefined {
  const m = /System clock wrong by (-?[\d.]+) seconds/.exec(log)
  return m ? Number(m[1]) : undefined
}

describe.skipIf(chronyd.skip)(`chronyd against the NTP server (${chronyd.skip ?? 'chronyd -Q'})`, () => {
  it('accepts a normal answer: the clock is right to within 50 ms', async () => {
    await using t = await startTestLab()
    const log = await chronydAgainst(t, 8)
    expect(Math.abs(wrongBy(log) ?? Infinity)).toBeLessThan(0.05)
    expect(t.lab.journal.query({ kind: 'ntp:response' }).length).toBeGreaterThanOrEqual(2)
  })

  it('sees a phone three years ahead when the scenario says offset +3y', async () => {
    await using t = await startTestLab(MINIMAL_SCENARIO + 'servers:\n  ntp:\n    offset: +3y\n')
    const log = await chronydAgainst(t, 8)
    expect(Math.abs((wrongBy(log) ?? 0) - 94_672_800)).toBeLessThan(0.05)
  })

  it('reports a Kiss-o-Death RATE', async () => {
    await using t = await startTestLab(MINIMAL_SCENARIO + 'servers:\n  ntp:\n    kod: RATE\n')
    const log = await chronydAgainst(t, 2)
    expect(log).toContain('Received KoD RATE from 127.0.0.1')
    expect(wrongBy(log)).toBeUndefined()
  })

  it('finds no usable source when the server says it is unsynchronised', async () => {
    await using t = await startTestLab(MINIMAL_SCENARIO + 'servers:\n  ntp:\n    leap: unsynchronised\n')
    const log = await chronydAgainst(t, 3)
    expect(log).toContain('No suitable source for synchronisation')
    expect(wrongBy(log)).toBeUndefined()
  })

  it('still answers chronyd after 100,000 random and mutated datagrams', async () => {
    await using t = await startTestLab()
    const socket = createSocket('udp4')
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()))
    const valid = encodeNtp(clientRequest())
    const datagram = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc
        .array(fc.record({ at: fc.nat({ max: 47 }), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 4,
        })
        .map((muts) => {
          const b = Uint8Array.from(valid)
          for (const m of muts) b[m.at] = m.value
          return b
        }),
    )
    const samples = fc.sample(datagram, { numRuns: 100_000, seed: 700 })
    const port = t.port('ntp')
    let received = 0
    const unsubscribe = t.lab.journal.subscribe((e) => {
      if (e.kind === 'ntp:malformed' || e.kind === 'ntp:request') received++
    })
    for (let i = 0; i < samples.length; i++) {
      socket.send(samples[i]!, port, '127.0.0.1')
      if (i % 16 === 15) await new Promise((r) => setImmediate(r)) // let the server read what was sent
    }
    // The last datagrams may still be in flight; a fresh request answered proves they were all read.
    const probe = clientRequest(4, Date.now() + 1e6)
    socket.send(encodeNtp(probe), port, '127.0.0.1')
    await expect
      .poll(
        () =>
          t.lab.journal
            .query({ kind: 'ntp:response' })
            .some((e) => e.detail.originTimestamp === probe.transmitTimestamp.toString(16)),
        { timeout: 10_000 },
      )
      .toBe(true)
    unsubscribe()
    socket.close()
    expect(samples.length).toBe(100_000)
    // UDP may lose some on a loaded machine; nearly all must have reached the server and been handled.
    expect(received).toBeGreaterThan(95_000)
    expect(t.lab.journal.query({ kind: 'ntp:malformed' }).length).toBeGreaterThan(0)
    expect(t.lab.journal.query({ kind: 'ntp:failed' })).toEqual([])
    const log = await chronydAgainst(t, 8)
    expect(Math.abs(wrongBy(log) ?? Infinity)).toBeLessThan(0.05)
    expect((await t.client.health()).ok).toBe(true)
  }, 60_000)
})
