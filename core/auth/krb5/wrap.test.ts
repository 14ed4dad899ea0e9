import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../errors.js'
import { unwrapInitiator, wrapAcceptor } from './wrap.js'

const h = (s: string): Buffer => Buffer.from(s, 'hex')

/*
 * Tokens MIT krb5 1.20 made (python-gssapi on both ends, the keys read back with
 * gss_krb5_export_lucid_sec_context): an acceptor's and an initiator's integrity-only Wrap token.
 */
const ACCEPTOR = {
  key: h('a8f227bf76844bbd3c102a6470bce9a63d0d4302bef37b9592131f668d8b2796'),
  seq: 525657737n,
  data: h('01000000'),
  token: '050405ff000c0000000000001f54e68901000000ea754ba2ba61b33fc48dd926',
}
const INITIATOR = {
  key: h('59766b96335ad18b6278472e2655683d715cf3b64be10999da9898b058c4bbca'),
  token: h('050404ff000c000000000000228df975010000006378373030bfd551e719474930b39c39ec'),
}

describe('RFC 4121 Wrap tokens without confidentiality', () => {
  it('makes the token MIT’s acceptor makes (SEAL usage 22, EC = checksum length, RRC 0)', () => {
    const token = wrapAcceptor({ etype: 18, bytes: ACCEPTOR.key }, ACCEPTOR.seq, ACCEPTOR.data, true)
    expect(Buffer.from(token).toString('hex')).toBe(ACCEPTOR.token)
  })

  it('reads MIT’s initiator token and refuses it changed, or with the wrong key', () => {
    const key = { etype: 18, bytes: INITIATOR.key }
    const { data, seq } = unwrapInitiator(key, INITIATOR.token)
    expect(Buffer.from(data).toString('latin1')).toBe('\x01\x00\x00\x00cx700')
    expect(seq).toBe(0x228df975n)
    const changed = Buffer.from(INITIATOR.token)
    changed[20] = changed[20]! ^ 1
    expect(() => unwrapInitiator(key, changed)).toThrow(LabDecodeError)
    expect(() => unwrapInitiator({ etype: 18, bytes: ACCEPTOR.key }, INITIATOR.token)).toThrow(LabDecodeError)
    expect(() => unwrapInitiator({ etype: 23, bytes: Buffer.alloc(16) }, INITIATOR.token)).toThrow(/RFC 4757/)
  })
})
