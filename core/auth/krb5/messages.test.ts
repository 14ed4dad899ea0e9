import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../errors.js'
import {
  KrbErrorCode,
  MsgType,
  NameType,
  PaType,
  TicketFlag,
  decodeApRep,
  decodeApReq,
  decodeAuthenticator,
  decodeEncApRepPart,
  decodeEncKdcRepPart,
  decodeEncTicketPart,
  decodeEtypeInfo2,
  decodeKerberos,
  decodeMethodData,
  decodePaEncTsEnc,
  encodeApRep,
  encodeApReq,
  encodeAuthenticator,
  encodeEncApRepPart,
  encodeEncKdcRepPart,
  encodeEncTicketPart,
  encodeEtypeInfo2,
  encodeKdcRep,
  encodeKdcReq,
  encodeKrbError,
  encodeMethodData,
  encodePaEncTsEnc,
  type Ticket,
} from './messages.js'

/** `kinit alice@CORP.CONTOSO.TEST` (MIT krb5 1.20, Debian 12), its first AS-REQ as it went on the wire. */
const KINIT_AS_REQ = Buffer.from(
  '6a81c03081bda103020105a20302010aa31a3018300aa10402020096a2020400300aa10402020095a2020400a48194308191a00703050000000010a1123010a003020101a10930071b05616c696365a2131b11434f52502e434f4e544f534f2e54455354a3263024a003020102a11d301b1b066b72627467741b11434f52502e434f4e544f534f2e54455354a511180f32303236313133303033343035315aa70602045c58590ba81a301802011202011102011402011302011002011702011902011a',
  'hex',
)
const REALM = 'CORP.CONTOSO.TEST'
const alice = { type: NameType.principal, names: ['alice'] }
const krbtgt = { type: NameType.srvInst, names: ['krbtgt', REALM] }
const T = Date.UTC(2026, 10, 29, 3, 40, 51)
const ticket: Ticket = {
  realm: REALM,
  sname: krbtgt,
  encPart: { etype: 18, kvno: 2, cipher: Buffer.from('sealed') },
}

describe('Kerberos messages (RFC 4120 §5)', () => {
  it('reads a real kinit AS-REQ: client, service, nonce, etypes, MIT’s padata', () => {
    const m = decodeKerberos(KINIT_AS_REQ)
    if (m.kind !== 'as-req') throw new Error(m.kind)
    expect(m.req.body).toMatchObject({
      cname: alice,
      realm: REALM,
      sname: krbtgt,
      till: T + 86_400_000,
      nonce: 0x5c58590b,
      etypes: [18, 17, 20, 19, 16, 23, 25, 26],
      options: 0x10, // renewable-ok
    })
    expect(m.req.padata.map((p) => p.type)).toEqual([150, 149])
    // The body's encoding as received, for the TGS-REQ checksum: the request's last element.
    expect(KINIT_AS_REQ.toString('hex').endsWith(Buffer.from(m.req.bodyRaw).toString('hex'))).toBe(true)
    expect(m.req.bodyRaw.length).toBe(0x91 + 3)
  })

  it('round-trips a request, a reply and the parts inside them', () => {
    const body = {
      options: 0x40810010,
      cname: alice,
      realm: REALM,
      sname: krbtgt,
      till: T,
      nonce: 42,
      etypes: [18, 23],
    }
    const req = decodeKerberos(
      encodeKdcReq(MsgType.asReq, [{ type: PaType.pacRequest, value: Buffer.from([1]) }], body),
    )
    expect(req).toMatchObject({ kind: 'as-req', req: { body, padata: [{ type: 128 }] } })
    const rep = decodeKerberos(
      encodeKdcRep({
        msgType: MsgType.asRep,
        crealm: REALM,
        cname: alice,
        ticket,
        encPart: { etype: 18, cipher: Buffer.from('x') },
      }),
    )
    expect(rep).toMatchObject({
      kind: 'as-rep',
      rep: { crealm: REALM, cname: alice, ticket: { sname: krbtgt, encPart: { kvno: 2 } } },
    })
    const key = { etype: 18, bytes: Buffer.alloc(32, 7) }
    const flags = TicketFlag.initial | TicketFlag.preAuthent
    const part = { key, crealm: REALM, cname: alice, flags, authtime: T, endtime: T + 36_000_000 }
    expect(decodeEncTicketPart(encodeEncTicketPart(part))).toEqual(part)
    const kdcPart = { key, nonce: 42, flags, authtime: T, endtime: T + 1000, srealm: REALM, sname: krbtgt }
    expect(decodeEncKdcRepPart(encodeEncKdcRepPart(25, kdcPart))).toEqual(kdcPart)
    expect(decodeEncKdcRepPart(encodeEncKdcRepPart(26, kdcPart))).toEqual(kdcPart)
  })

  it('round-trips AP-REQ, Authenticator, AP-REP and KRB-ERROR', () => {
    const ap = { options: 0x20000000, ticket, authenticator: { etype: 23, cipher: Buffer.from('auth') } }
    expect(decodeApReq(encodeApReq(ap))).toEqual(ap)
    const auth = {
      crealm: REALM,
      cname: alice,
      cusec: 12,
      ctime: T,
      cksum: { type: 0x8003, value: Buffer.alloc(24) },
      seqNumber: 7,
    }
    expect(decodeAuthenticator(encodeAuthenticator(auth))).toEqual(auth)
    expect(decodeApRep(encodeApRep({ etype: 18, cipher: Buffer.from('r') }))).toEqual({
      etype: 18,
      cipher: Buffer.from('r'),
    })
    expect(decodeEncApRepPart(encodeEncApRepPart({ ctime: T, cusec: 12, seqNumber: 9 }))).toEqual({
      ctime: T,
      cusec: 12,
      seqNumber: 9,
    })
    const eData = encodeMethodData([
      {
        type: PaType.etypeInfo2,
        value: encodeEtypeInfo2([{ etype: 18, salt: `${REALM}alice` }, { etype: 23 }]),
      },
    ])
    const err = decodeKerberos(
      encodeKrbError({
        stime: T,
        susec: 5,
        errorCode: KrbErrorCode.KDC_ERR_PREAUTH_REQUIRED,
        realm: REALM,
        sname: krbtgt,
        eData,
      }),
    )
    if (err.kind !== 'error') throw new Error(err.kind)
    expect(err.error).toMatchObject({ errorCode: 25, realm: REALM })
    const info = decodeMethodData(err.error.eData!)
    expect(decodeEtypeInfo2(info[0]!.value)).toEqual([{ etype: 18, salt: `${REALM}alice` }, { etype: 23 }])
    expect(decodePaEncTsEnc(encodePaEncTsEnc(T, 999))).toEqual({ time: T, usec: 999 })
  })
})

describe('Kerberos messages: fuzz', () => {
  const decodeOrRefuse = (b: Uint8Array): void => {
    try {
      decodeKerberos(b)
    } catch (err) {
      expect(err).toBeInstanceOf(LabDecodeError)
    }
  }
  it('random bytes only ever give a message or a LabDecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodeOrRefuse), { numRuns: 20_000, seed: 88 })
  })

  it('mutated and cut kinit requests only ever give a message or a LabDecodeError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(300), fc.nat(255)), { minLength: 1, maxLength: 6 }),
        fc.nat(60),
        (muts, cut) => {
          const b = Uint8Array.from(KINIT_AS_REQ)
          for (const [at, v] of muts) b[at % b.length] = v
          decodeOrRefuse(b.subarray(0, b.length - cut))
        },
      ),
      { numRuns: 20_000, seed: 89 },
    )
  })
})
