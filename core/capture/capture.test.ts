import fc from 'fast-check'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../errors.js'
import { captureContent } from './export.js'
import { TCP_ACK, TCP_FIN, TCP_SYN, ipv4Octets, tcpFrame, udpFrame } from './frames.js'
import { pcapng, readPcapng } from './pcapng.js'
import { CaptureStore, type CapturedConnection } from './store.js'

const link = { source: new Uint8Array(6), destination: new Uint8Array(6) }
const phone = { address: '10.50.0.100', port: 50_000 }
const lab = { address: '10.50.0.1', port: 389 }

/** The Internet checksum over a span sums to 0xffff (RFC 1071) when its checksum field is right. */
function sumsToAllOnes(bytes: Uint8Array, initial = 0): boolean {
  let sum = initial
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!
  if (bytes.length % 2) sum += bytes[bytes.length - 1]! << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return sum === 0xffff
}

function pseudo(frame: Uint8Array): number {
  const ip = frame.subarray(14, 34)
  const length = frame.length - 34
  let sum = 0
  for (let i = 12; i < 20; i += 2) sum += (ip[i]! << 8) | ip[i + 1]!
  return sum + ip[9]! + length
}

function store(
  perDeviceBytes = 1_000_000,
  totalBytes = 10_000_000,
  scope: 'phones' | 'all' = 'all',
): { s: CaptureStore; tick: () => void } {
  let now = 1_800_000_000_000
  const s = new CaptureStore({
    capture: { perDeviceBytes, totalBytes, scope },
    resolve: (address, hint) =>
      hint ?? (address === phone.address ? { mac: '00:04:f2:00:00:01', ip: address } : undefined),
    now: () => now,
  })
  return { s, tick: () => (now += 10) }
}

describe('frames', () => {
  it('IPv4, UDP and TCP headers carry lengths and checksums a receiver verifies', () => {
    const payload = Uint8Array.from([1, 2, 3, 4, 5])
    const u = udpFrame(link, phone, lab, payload, 7)
    expect(u.length).toBe(14 + 20 + 8 + 5)
    expect(sumsToAllOnes(u.subarray(14, 34))).toBe(true)
    expect(sumsToAllOnes(u.subarray(34), pseudo(u))).toBe(true)
    const t = tcpFrame(link, lab, phone, { seq: 0xfffffff0, ack: 9, flags: TCP_SYN | TCP_ACK }, payload, 8)
    expect(sumsToAllOnes(t.subarray(14, 34))).toBe(true)
    expect(sumsToAllOnes(t.subarray(34), pseudo(t))).toBe(true)
    expect(new DataView(t.buffer).getUint32(38)).toBe(0xfffffff0)
  })

  it('an address that is not IPv4 (an IPv6 peer) is written as 0.0.0.0 rather than failing', () => {
    expect([...ipv4Octets('::1')]).toEqual([0, 0, 0, 0])
    expect([...ipv4Octets('::ffff:127.0.0.1')]).toEqual([127, 0, 0, 1])
  })
})

describe('pcapng', () => {
  it('round-trips frames, comments and TLS key log lines', () => {
    const file = pcapng({
      frames: [
        { timeMs: 1_800_000_000_123.456, bytes: Uint8Array.from([1, 2, 3]), comment: 'DNS · dns' },
        { timeMs: 1_800_000_000_200, bytes: new Uint8Array(61) },
      ],
      tlsKeyLog: ['CLIENT_RANDOM aa bb'],
      application: 'cx700-lab',
      interfaceName: 'lab',
    })
    expect(file.length % 4).toBe(0)
    const back = readPcapng(file)
    expect(back.tlsKeyLog).toEqual(['CLIENT_RANDOM aa bb'])
    expect(back.frames.map((f) => [f.bytes.length, f.comment])).toEqual([
      [3, 'DNS · dns'],
      [61, undefined],
    ])
    expect(back.frames[0]!.timeMs).toBeCloseTo(1_800_000_000_123.456, 3)
  })

  it('refuses truncated or mutated files with a coded error, never a crash', () => {
    const file = pcapng({
      frames: [{ timeMs: 0, bytes: new Uint8Array(40), comment: 'x' }],
      tlsKeyLog: ['A B C'],
    })
    fc.assert(
      fc.property(fc.integer({ min: 0, max: file.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, v) => {
        const mutated = Uint8Array.from(file)
        mutated[at] = v
        for (const input of [mutated, file.subarray(0, at)]) {
          try {
            readPcapng(input)
          } catch (err) {
            expect(err).toBeInstanceOf(LabDecodeError)
          }
        }
      }),
    )
  })
})

describe('CaptureStore', () => {
  it('files datagrams and connections under the device the peer address resolves to', () => {
    const { s } = store()
    s.datagram('dns', 'in', lab, phone, Uint8Array.from([1]))
    s.datagram('dns', 'in', lab, { address: '127.0.0.1', port: 5 }, Uint8Array.from([2]))
    expect(s.devices().map((d) => d.key)).toEqual(['00:04:f2:00:00:01', '127.0.0.1'])
    expect(s.records('00:04:F2:00:00:01')).toHaveLength(1)
  })

  it('keeps a connection consistent in both byte streams, with its handshake, data, FIN and key log', () => {
    const { s, tick } = store()
    const tap = s.connection('ldap', lab, phone)
    tap.data('in', Uint8Array.from([1, 2, 3]))
    tick()
    tap.data('out', Uint8Array.from([4, 5]))
    tap.keylog('CLIENT_RANDOM 00 11\n')
    tap.fin('in')
    tap.fin('out')
    tap.fin('out') // a second FIN (close after end) is ignored
    const conn = s.records('00:04:f2:00:00:01')[0] as CapturedConnection
    expect(conn.segments.map((x) => [x.direction, x.offset, x.peerOffset, x.flag])).toEqual([
      ['in', 0, 0, undefined],
      ['out', 0, 3, undefined],
      ['in', 3, 2, 'fin'],
      ['out', 2, 4, 'fin'],
    ])
    const content = captureContent({ records: [conn] })
    expect(content.frames).toHaveLength(3 + 4) // SYN, SYN/ACK, ACK, then the four segments
    expect(content.tlsKeyLog).toEqual(['CLIENT_RANDOM 00 11'])
    const flags = content.frames.map((f) => f.bytes[14 + 20 + 13]!)
    expect(flags.slice(0, 3)).toEqual([TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK])
    expect(flags.slice(-2).every((f) => (f & TCP_FIN) !== 0)).toBe(true)
  })

  it('stays within its bounds per device and in all, the oldest going first', () => {
    const { s } = store(10_000, 15_000)
    const tap = s.connection('http', lab, phone)
    for (let i = 0; i < 100; i++) tap.data(i % 2 ? 'out' : 'in', new Uint8Array(500))
    expect(s.devices()[0]!.bytes).toBeLessThanOrEqual(10_000)
    const conn = s.records('00:04:f2:00:00:01')[0] as CapturedConnection
    // What is left still sits where it was in the stream: no handshake, consistent offsets.
    expect(conn.evicted).toBeGreaterThan(0)
    expect(conn.segments[0]!.offset).toBeGreaterThan(0)
    expect(captureContent({ records: [conn] }).frames).toHaveLength(conn.segments.length)
    for (let i = 0; i < 100; i++)
      s.datagram('dns', 'in', lab, { address: `127.0.0.${2 + (i % 5)}`, port: 1 }, new Uint8Array(200))
    expect(s.bytes).toBeLessThanOrEqual(15_000)
    // The device heard least recently (the phone) gave way first.
    expect(s.records('00:04:f2:00:00:01').length).toBe(0)
    expect(s.devices().map((d) => d.key)).toContain('127.0.0.6')
  })

  it('masks a concealed secret in the inbound stream, even across segments, and withholds TLS secrets then', () => {
    const { s } = store()
    const tap = s.connection('ldap', lab, phone)
    tap.data('in', Buffer.from('bind Pass'))
    tap.data('in', Buffer.from('w0rd! end'))
    tap.keylog('CLIENT_RANDOM 1 2')
    tap.conceal(Buffer.from('Passw0rd!'))
    tap.conceal(Buffer.from('Passw0rd!')) // again on the next request: kept once
    expect((s.records('00:04:f2:00:00:01')[0] as CapturedConnection).concealed).toHaveLength(1)
    const content = captureContent({ records: s.records('00:04:f2:00:00:01') })
    const payloads = Buffer.concat(content.frames.map((f) => f.bytes.subarray(54)))
    expect(payloads.toString()).toContain('bind ********* end')
    expect(content.tlsKeyLog).toEqual([])
    expect(content.withheld).toBe(1)
  })

  it('keeps only phones (devices known by MAC) unless told to keep everyone', () => {
    const { s } = store(1_000_000, 10_000_000, 'phones')
    s.datagram('dns', 'in', lab, { address: '127.0.0.1', port: 5 }, new Uint8Array(10))
    s.connection('http', lab, { address: '127.0.0.1', port: 6 }).data('in', new Uint8Array(10))
    s.datagram('dns', 'in', lab, phone, new Uint8Array(10))
    s.datagram('dhcp', 'in', lab, { address: '0.0.0.0', port: 68 }, new Uint8Array(10), {
      mac: '00:04:f2:00:00:09',
    })
    expect(s.devices().map((d) => d.key)).toEqual(['00:04:f2:00:00:01', '00:04:f2:00:00:09'])
    expect(s.wants('127.0.0.1')).toBe(false)
  })

  it('keeps nothing when turned off', () => {
    const { s } = store(0, 0, 'all')
    s.datagram('dns', 'in', lab, phone, new Uint8Array(10))
    s.connection('ldap', lab, phone).data('in', new Uint8Array(10))
    expect(s.devices()).toEqual([])
  })

  it('keeps its own copy of what it is handed, as Node reuses its buffers', () => {
    const { s } = store()
    const tap = s.connection('sip', lab, phone)
    const reused = Buffer.from('REGISTER')
    tap.data('in', reused)
    s.datagram('ntp', 'in', lab, phone, reused)
    reused.fill(0)
    const [conn, datagram] = s.records('00:04:f2:00:00:01')
    expect(Buffer.from((conn as CapturedConnection).segments[0]!.bytes).toString()).toBe('REGISTER')
    expect(datagram?.kind === 'udp' && Buffer.from(datagram.bytes).toString()).toBe('REGISTER')
  })

  // The bounds are a promise about memory: a soak of phones sending keep-alives of a few octets once held five
  // times the 32 MiB it counted. What the store holds after a collection is what it counts, give or take.
  it.each([4, 60, 1500])(
    'holds in memory what it counts against its bounds (pieces of %i octets)',
    (size) => {
      setFlagsFromString('--expose-gc')
      const gc = runInNewContext('gc') as () => void
      const held = (): number => {
        gc()
        gc()
        const m = process.memoryUsage()
        return m.heapUsed + m.arrayBuffers
      }
      const { s, tick } = store(128 * 1024, 4 * 1024 * 1024)
      const taps = Array.from({ length: 40 }, (_, i) =>
        s.connection('sip', lab, { address: `10.50.1.${i}`, port: 5061 }, { mac: `00:04:f2:00:01:${i}` }),
      )
      const piece = new Uint8Array(size)
      for (let i = 0; i < 100_000; i++) {
        tick()
        taps[i % taps.length]!.data(i % 2 ? 'in' : 'out', piece)
      }
      const full = held()
      const counted = s.bytes
      s.configure({ perDeviceBytes: 0, totalBytes: 0, scope: 'all' })
      const ratio = (full - held()) / counted
      expect(s.bytes).toBe(0)
      expect(ratio).toBeGreaterThan(0.6)
      expect(ratio).toBeLessThan(1.35)
    },
  )
})
