import { randomInt } from 'node:crypto'
import { LabDecodeError } from '../core/errors.js'
import {
  NB_CLASS_IN,
  NbOpcode,
  NbType,
  decodeNb,
  decodeNbAddresses,
  encodeNb,
  type NetbiosName,
} from '../servers/netbios/codec.js'
import type { PhoneNet } from './net.js'

/**
 * The phone's WINS client (spec §2.4, S4): a unicast name query to each WINS server DHCP gave (option 44),
 * as Windows CE's NetBT asks — up to three times, 1.5 s apart (NameSrvQueryCount 3, NameSrvQueryTimeout
 * 1500 ms: Windows' defaults, GUESS for the CE build). Shares only the codec with the lab's WINS double.
 */
export type WinsAnswer =
  | { readonly kind: 'found'; readonly addresses: readonly string[]; readonly server: string }
  | { readonly kind: 'negative'; readonly server: string }
  | { readonly kind: 'no answer' }

export const WINS_TRIES = 3
export const WINS_TIMEOUT_MS = 1_500

export async function winsQuery(
  net: PhoneNet,
  servers: readonly string[],
  name: NetbiosName,
  trace: string[],
): Promise<WinsAnswer> {
  for (const server of servers) {
    const to = net.target(server, 137, 'udp')
    if (!to) continue
    for (let attempt = 0; attempt < WINS_TRIES; attempt++) {
      const id = randomInt(0, 0xffff)
      const bytes = encodeNb({
        id,
        response: false,
        opcode: NbOpcode.query,
        flags: { aa: false, tc: false, rd: true, ra: false, broadcast: false },
        rcode: 0,
        questions: [{ name, type: NbType.NB, class: NB_CLASS_IN }],
        answers: [],
        authority: [],
        additional: [],
      })
      trace.push(`${server} ${name.name}<${name.suffix.toString(16).toUpperCase()}>`)
      const reply = await net.udpAsk(
        to.host,
        to.port,
        bytes,
        (b) => b.length >= 2 && b.readUInt16BE(0) === id,
        WINS_TIMEOUT_MS,
      )
      if (!reply) continue
      try {
        const p = decodeNb(reply)
        const record = p.answers.find((r) => r.type === NbType.NB)
        if (p.rcode !== 0 || !record) return { kind: 'negative', server }
        return { kind: 'found', addresses: decodeNbAddresses(record.data).map((o) => o.address), server }
      } catch (err) {
        if (!(err instanceof LabDecodeError)) throw err
      }
    }
  }
  return { kind: 'no answer' }
}
