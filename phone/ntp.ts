import { LabDecodeError } from '../core/errors.js'
import type { Clock } from '../core/clock.js'
import {
  clientRequest,
  decodeNtp,
  encodeNtp,
  ntpTimestampFromUnixMs,
  unixMsFromNtpTimestamp,
} from '../servers/ntp/codec.js'
import type { PhoneNet } from './net.js'

/**
 * One SNTP exchange (spec §2.3): the offset of the server's clock from ours, or why there is none (no
 * answer, a Kiss-o'-Death, an unsynchronised server — which SNTP clients refuse, RFC 4330 §5).
 */
export async function ntpOffset(
  net: PhoneNet,
  server: string,
  timeoutMs: number,
  clock: Clock,
): Promise<{ offsetMs: number } | { problem: string }> {
  const to = net.target(server, 123, 'udp')
  if (!to) return { problem: `nothing answers NTP at ${server}` }
  const sent = clock.now()
  const transmit = ntpTimestampFromUnixMs(sent)
  const request = encodeNtp(clientRequest(3, transmit))
  const answer = await net.udpAsk(to.host, to.port, request, () => true, timeoutMs)
  if (!answer) return { problem: `no NTP answer from ${server}` }
  try {
    const p = decodeNtp(answer)
    if (p.originTimestamp !== transmit) return { problem: 'an NTP answer to another request' }
    if (p.stratum === 0) return { problem: `Kiss-o'-Death ${Buffer.from(p.referenceId).toString('latin1')}` }
    if (p.leap === 3) return { problem: 'the NTP server is unsynchronised' }
    const received = clock.now()
    const serverTime = unixMsFromNtpTimestamp(p.transmitTimestamp, sent)
    return { offsetMs: serverTime - (sent + received) / 2 }
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    return { problem: `a malformed NTP answer: ${err.message}` }
  }
}
