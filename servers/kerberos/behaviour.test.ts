import { describe, expect, it } from 'vitest'
import { checksum, decrypt, encrypt, stringToKey } from '../../core/auth/krb5/crypto.js'
import {
  KrbErrorCode,
  MsgType,
  NameType,
  PaType,
  decodeEncKdcRepPart,
  decodeEtypeInfo2,
  decodeKerberos,
  decodeMethodData,
  encodeApReq,
  encodeAuthenticator,
  encodeEncryptedData,
  encodeKdcReqBody,
  encodePaEncTsEnc,
  type KdcReqBody,
  type KdcRep,
} from '../../core/auth/krb5/messages.js'
import { KerberosRealm } from '../../core/auth/krb5/realm.js'
import { loadScenario } from '../../lab/scenario/load.js'
import { answerAs, answerTgs, type KdcContext } from './behaviour.js'

const scenario = loadScenario(
  't.yaml',
  `version: 1
name: t
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
users:
  - { signInAddress: alice@contoso.test, password: Passw0rd! }
`,
)
const NOW = Date.UTC(2026, 10, 29, 4, 0, 0)
const realm = new KerberosRealm(Buffer.alloc(32, 1), scenario.site, scenario.users, scenario.hosts)
const ctx = (over: Partial<KdcContext> = {}): KdcContext => ({
  realm,
  etypes: [18, 17, 23],
  nowMs: NOW,
  maxSkewMs: 300_000,
  ticketLifetimeMs: 36_000_000,
  ...over,
})
const alice = { type: NameType.principal, names: ['alice'] }
const body = (over: Partial<KdcReqBody> = {}): KdcReqBody => ({
  options: 0,
  cname: alice,
  realm: 'CORP.CONTOSO.TEST',
  sname: realm.krbtgt,
  till: NOW + 86_400_000,
  nonce: 77,
  etypes: [18, 23],
  ...over,
})
const stamp = (etype: number, password: string, at = NOW) => ({
  type: PaType.encTimestamp,
  value: encodeEncryptedData({
    etype,
    cipher: encrypt(stringToKey(etype, password, 'CORP.CONTOSO.TESTalice'), 1, encodePaEncTsEnc(at, 0)),
  }),
})
const asReq = (padata = [stamp(18, 'Passw0rd!')], b = body()) => ({
  msgType: MsgType.asReq,
  padata,
  body: b,
  bodyRaw: new Uint8Array(),
})
const errorOf = (reply: Uint8Array): number => {
  const m = decodeKerberos(reply)
  if (m.kind !== 'error') throw new Error(`not an error: ${m.kind}`)
  return m.error.errorCode
}
const repOf = (reply: Uint8Array): KdcRep => {
  const m = decodeKerberos(reply)
  if (m.kind !== 'as-rep' && m.kind !== 'tgs-rep') throw new Error(m.kind)
  return m.rep
}

describe('KDC double: the AS exchange as AD does it', () => {
  it('asks for pre-authentication first, with ETYPE-INFO2 naming AD’s salt (none for RC4)', () => {
    const o = answerAs(asReq([]), ctx())
    expect(o.error).toBe('KDC_ERR_PREAUTH_REQUIRED')
    const m = decodeKerberos(o.reply)
    if (m.kind !== 'error') throw new Error(m.kind)
    const info = decodeMethodData(m.error.eData!).find((p) => p.type === PaType.etypeInfo2)!
    expect(decodeEtypeInfo2(info.value)).toEqual([
      { etype: 18, salt: 'CORP.CONTOSO.TESTalice' },
      { etype: 23 },
    ])
  })

  it('issues a TGT whose reply opens with the user’s key and carries the nonce', () => {
    const o = answerAs(asReq(), ctx())
    expect(o.chosen).toBe(18)
    expect(o.error).toBeUndefined()
    const rep = repOf(o.reply)
    const part = decodeEncKdcRepPart(
      decrypt(stringToKey(18, 'Passw0rd!', 'CORP.CONTOSO.TESTalice'), 3, rep.encPart.cipher),
    )
    expect(part).toMatchObject({ nonce: 77, srealm: 'CORP.CONTOSO.TEST', endtime: NOW + 36_000_000 })
  })

  it('refuses: wrong password 24, skew 37, unknown user 6, no common etype 14', () => {
    expect(errorOf(answerAs(asReq([stamp(18, 'wrong')]), ctx()).reply)).toBe(
      KrbErrorCode.KDC_ERR_PREAUTH_FAILED,
    )
    expect(errorOf(answerAs(asReq([stamp(18, 'Passw0rd!', NOW + 600_000)]), ctx()).reply)).toBe(
      KrbErrorCode.KRB_AP_ERR_SKEW,
    )
    const nobody = body({ cname: { type: 1, names: ['nobody'] } })
    expect(errorOf(answerAs(asReq([], nobody), ctx()).reply)).toBe(KrbErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN)
    expect(errorOf(answerAs(asReq([], body({ etypes: [23] })), ctx({ etypes: [18] })).reply)).toBe(
      KrbErrorCode.KDC_ERR_ETYPE_NOSUPP,
    )
  })
})

describe('KDC double: the TGS exchange', () => {
  it('gives the TGT’s holder a ticket for a lab service, and refuses an unknown one with 7', () => {
    const tgt = repOf(answerAs(asReq(), ctx()).reply)
    const session = decodeEncKdcRepPart(
      decrypt(stringToKey(18, 'Passw0rd!', 'CORP.CONTOSO.TESTalice'), 3, tgt.encPart.cipher),
    ).key
    const tgsReq = (service: string, withChecksum = true) => {
      const sname = { type: NameType.srvInst, names: service.split('/') }
      const b = body({ sname })
      const bodyRaw = encodeKdcReqBody(b)
      const cksum = checksum(session, 6, bodyRaw)
      const authenticator = encodeAuthenticator({
        crealm: 'CORP.CONTOSO.TEST',
        cname: alice,
        cusec: 0,
        ctime: NOW,
        ...(withChecksum ? { cksum } : {}),
      })
      const ap = encodeApReq({
        options: 0,
        ticket: tgt.ticket,
        authenticator: { etype: 18, cipher: encrypt(session, 7, authenticator) },
      })
      return { msgType: MsgType.tgsReq, padata: [{ type: PaType.tgsReq, value: ap }], body: b, bodyRaw }
    }
    const o = answerTgs(tgsReq('HTTP/dc1.corp.contoso.test'), ctx())
    expect(o).toMatchObject({
      principal: 'alice@CORP.CONTOSO.TEST',
      service: 'HTTP/dc1.corp.contoso.test',
      chosen: 18,
    })
    const rep = repOf(o.reply)
    expect(rep.ticket.encPart.kvno).toBe(2)
    expect(decodeEncKdcRepPart(decrypt(session, 8, rep.encPart.cipher)).nonce).toBe(77)
    expect(errorOf(answerTgs(tgsReq('HTTP/elsewhere.example'), ctx()).reply)).toBe(
      KrbErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN,
    )
    // A TGS-REQ whose authenticator carries no checksum of the body is refused, as AD and MIT refuse it.
    expect(errorOf(answerTgs(tgsReq('HTTP/dc1.corp.contoso.test', false), ctx()).reply)).toBe(
      KrbErrorCode.KRB_AP_ERR_INAPP_CKSUM,
    )
  })
})
