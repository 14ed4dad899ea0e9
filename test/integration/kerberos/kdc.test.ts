import { connect } from 'node:net'
import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { stringToKey, encrypt } from '../../../core/auth/krb5/crypto.js'
import {
  KrbErrorCode,
  MsgType,
  NameType,
  PaType,
  decodeKerberos,
  encodeEncryptedData,
  encodeKdcReq,
  encodePaEncTsEnc,
} from '../../../core/auth/krb5/messages.js'
import { MINIMAL_SCENARIO, startTestLab, type TestLab } from '../../helpers/lab.js'

const REALM = 'CONTOSO.TEST'
const asReq = (now: number): Uint8Array => {
  const key = stringToKey(18, 'Passw0rd!', `${REALM}alice`)
  const stamp = encodeEncryptedData({ etype: 18, cipher: encrypt(key, 1, encodePaEncTsEnc(now, 0)) })
  return encodeKdcReq(MsgType.asReq, [{ type: PaType.encTimestamp, value: stamp }], {
    options: 0,
    cname: { type: NameType.principal, names: ['alice'] },
    realm: REALM,
    sname: { type: NameType.srvInst, names: ['krbtgt', REALM] },
    till: now + 3_600_000,
    nonce: 7,
    etypes: [18],
  })
}

/** Sends `bytes` over TCP in pieces of `chunk` octets and reads the framed answer. */
function overTcp(t: TestLab, bytes: Uint8Array, chunk: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: t.port('kerberos', 'kerberos-tcp') })
    let got = Buffer.alloc(0)
    socket.on('error', reject)
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
        socket.destroy()
        resolve(got.subarray(4))
      }
    })
    socket.on('connect', () => {
      const head = Buffer.alloc(4)
      head.writeUInt32BE(bytes.length)
      const all = Buffer.concat([head, bytes])
      // One piece per turn of the event loop, so that the KDC reads them as separate segments.
      const send = (at: number): void => {
        if (at >= all.length) return
        socket.write(all.subarray(at, at + chunk))
        setImmediate(() => send(at + chunk))
      }
      send(0)
    })
  })
}

function overUdp(t: TestLab, bytes: Uint8Array): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    const timer = setTimeout(() => {
      socket.close()
      resolve(undefined)
    }, 1_000)
    socket.on('message', (m) => {
      clearTimeout(timer)
      socket.close()
      resolve(m)
    })
    socket.send(bytes, t.port('kerberos'), '127.0.0.1')
  })
}

describe('the KDC double over TCP, and its faults', () => {
  it('answers a request that arrives in pieces at every size, and refuses a length it will not take', async () => {
    await using t = await startTestLab()
    for (const chunk of [1, 3, 50]) {
      const m = decodeKerberos(await overTcp(t, asReq(Date.now()), chunk))
      expect(m.kind, `chunk ${chunk}`).toBe('as-rep')
    }
    const huge = await new Promise<Buffer>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: t.port('kerberos', 'kerberos-tcp') })
      socket.on('data', (d: Buffer) => resolve(d.subarray(4)))
      socket.on('connect', () => socket.write(Buffer.from([0x00, 0x10, 0x00, 0x00])))
    })
    const m = decodeKerberos(huge)
    expect(m.kind === 'error' && m.error.errorCode).toBe(KrbErrorCode.KRB_ERR_FIELD_TOOLONG)
  })

  it('takes faults from the one vocabulary, matched on principal and msg: an error code, a drop', async () => {
    await using t = await startTestLab(`${MINIMAL_SCENARIO}faults:
  - match: { server: kerberos, fields: { msg: AS, principal: alice@CONTOSO.TEST } }
    fault: { kind: error, code: KDC_ERR_CLIENT_REVOKED }
    times: 1
`)
    const first = decodeKerberos((await overUdp(t, asReq(Date.now())))!)
    expect(first.kind === 'error' && first.error.errorCode).toBe(KrbErrorCode.KDC_ERR_CLIENT_REVOKED)
    expect(decodeKerberos((await overUdp(t, asReq(Date.now())))!).kind).toBe('as-rep')
    // A fault added to the running lab: the next AS-REQ is heard and never answered.
    await t.client.addFault({
      match: { server: 'kerberos', fields: { msg: 'AS' } },
      fault: { kind: 'drop' },
      times: 1,
    })
    expect(await overUdp(t, asReq(Date.now()))).toBeUndefined()
    expect(decodeKerberos((await overUdp(t, asReq(Date.now())))!).kind).toBe('as-rep')
    const responses = t.lab.journal.query({ kind: 'kerberos:response' }).map((e) => e.detail)
    expect(responses[0]).toMatchObject({ error: 'KDC_ERR_CLIENT_REVOKED', fault: 'error' })
  })

  it('answers KRB_ERR_RESPONSE_TOO_BIG over UDP when a reply passes the limit, and the reply itself over TCP', async () => {
    await using t = await startTestLab(`${MINIMAL_SCENARIO}servers:\n  kerberos: { udpReplyLimit: 512 }\n`)
    const udp = decodeKerberos((await overUdp(t, asReq(Date.now())))!)
    expect(udp.kind === 'error' && udp.error.errorCode).toBe(KrbErrorCode.KRB_ERR_RESPONSE_TOO_BIG)
    expect(decodeKerberos(await overTcp(t, asReq(Date.now()), 4096)).kind).toBe('as-rep')
    expect(t.lab.journal.query({ kind: 'kerberos:response' })[0]?.summary).toContain(
      'over UDP (retry over TCP)',
    )
  })
})
