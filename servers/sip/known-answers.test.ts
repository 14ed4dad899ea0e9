import { describe, expect, it } from 'vitest'
import {
  NtlmFlag,
  authenticateWithKey,
  connectionlessChallenge,
  decodeNtlm,
  ntlmv2SessionKey,
  serverSessionKeys,
  verifyNtlm,
  type NtlmMessage,
} from '../../core/auth/ntlm.js'
import { sealedMac, sessionKeys } from '../../core/auth/ntlm-session.js'
import { rc4 } from '../../core/auth/rc4.js'
import { SipFramer, parseAuthParams, signatureBuffer, type SipMessage } from './codec.js'
import { signature, verifySignature, type NtlmAssociation } from './signing.js'
import { gruuOpaque, instanceOfEpid } from './instance.js'
import { provisioningV2, type ProvisioningInput } from './provisioning.js'
import { children, parseXml, path } from '../../core/xml.js'

/**
 * Known answers from real systems, each naming its source. The lab's own emulator agreeing with the lab's
 * own pool proves nothing; these values were sent by Microsoft's products or printed in Microsoft's
 * specifications, and the lab must reproduce them byte for byte.
 *
 * SIPE: pidgin-sipe, `src/core/sip-sec-ntlm-tests.c` ("real Communicator 2007 R2 tests: recreated/verified
 * real authentication communication between Communicator 2007 R2 and Office Communications Server 2007
 * R2"), repository tieto/sipe — user COSMO\User, password Pa$$word, pool cosmo-ocs-r2.cosmo.local.
 */

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase()
const b64 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64'))

/** SIPE: the CHALLENGE OCS 2007 R2 sent (base64 as in the WWW-Authenticate gssapi-data). */
const R2_CHALLENGE =
  'TlRMTVNTUAACAAAAAAAAADgAAADzgpji3Ruq9OfiGNEAAAAAAAAAAJYAlgA4AAAABQLODgAAAA8CAAoAQwBPAFMATQBPAAEAGABDAE8AUwBNAE8ALQBPAEMAUwAtAFIAMgAEABYAYwBvAHMAbQBvAC4AbABvAGMAYQBsAAMAMABjAG8AcwBtAG8ALQBvAGMAcwAtAHIAMgAuAGMAbwBzAG0AbwAuAGwAbwBjAGEAbAAFABYAYwBvAHMAbQBvAC4AbABvAGMAYQBsAAAAAAA='
/** SIPE: the client's AUTHENTICATE answering it. */
const R2_AUTHENTICATE =
  'TlRMTVNTUAADAAAAGAAYAHIAAADGAMYAigAAAAoACgBIAAAACAAIAFIAAAAYABgAWgAAABAAEABQAQAAVYKYYgUCzg4AAAAPQwBPAFMATQBPAFUAcwBlAHIAQwBPAFMATQBPAC0ATwBDAFMALQBSADIAoeku/k4Hi/fFwASazGFmwtauh1yw/apBjcDIAK527KYG0rn769BHMQEBAAAAAAAAWVGaFye5ygHWrodcsP2qQQAAAAACAAoAQwBPAFMATQBPAAEAGABDAE8AUwBNAE8ALQBPAEMAUwAtAFIAMgAEABYAYwBvAHMAbQBvAC4AbABvAGMAYQBsAAMAMABjAG8AcwBtAG8ALQBvAGMAcwAtAHIAMgAuAGMAbwBzAG0AbwAuAGwAbwBjAGEAbAAFABYAYwBvAHMAbQBvAC4AbABvAGMAYQBsAAAAAAAAAAAAMctznhyoCkmFkeiueXEV5A=='

/** SIPE: the signed REGISTER carrying that AUTHENTICATE (authentication protocol version 4). */
const R2_REGISTER = [
  'REGISTER sip:cosmo.local SIP/2.0',
  'Via: SIP/2.0/TLS 192.168.172.6:12723',
  'Max-Forwards: 70',
  'From: <sip:user@cosmo.local>;tag=3e49177a52;epid=c8ca638a15',
  'To: <sip:user@cosmo.local>',
  'Call-ID: 4037df9284354df39065195bd57a4b14',
  'CSeq: 3 REGISTER',
  'Contact: <sip:192.168.172.6:12723;transport=tls;ms-opaque=fad3dfab32>;methods="INVITE, MESSAGE, INFO, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";proxy=replace;+sip.instance="<urn:uuid:34D859DB-6585-5F91-A3B4-DE853C15347D>"',
  'User-Agent: UCCAPI/3.5.6907.0 OC/3.5.6907.0 (Microsoft Office Communicator 2007 R2)',
  'Supported: gruu-10, adhoclist, msrtc-event-categories',
  'Supported: ms-forking',
  'ms-keep-alive: UAC;hop-hop=yes',
  'Event: registration',
  `Proxy-Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="2BDBAC9D", targetname="cosmo-ocs-r2.cosmo.local", version=4, gssapi-data="${R2_AUTHENTICATE}", crand="13317733", cnum="1", response="0100000029618e9651b65a7764000000"`,
  'Content-Length: 0',
  '',
  '',
].join('\r\n')

/** SIPE: OCS 2007 R2's signed 200 OK to it. */
const R2_OK = [
  'SIP/2.0 200 OK',
  'ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300',
  'Authentication-Info: NTLM rspauth="01000000E615438A917661BE64000000", srand="9616454F", snum="1", opaque="2BDBAC9D", qop="auth", targetname="cosmo-ocs-r2.cosmo.local", realm="SIP Communications Service"',
  'From: "User"<sip:user@cosmo.local>;tag=3e49177a52;epid=c8ca638a15',
  'To: <sip:user@cosmo.local>;tag=5E61CCD925D17E043D9A74835A88F664',
  'Call-ID: 4037df9284354df39065195bd57a4b14',
  'CSeq: 3 REGISTER',
  'Via: SIP/2.0/TLS 192.168.172.6:12723;ms-received-port=12723;ms-received-cid=2600',
  'Contact: <sip:192.168.172.6:12723;transport=tls;ms-opaque=fad3dfab32;ms-received-cid=2600>;expires=7200;+sip.instance="<urn:uuid:34d859db-6585-5f91-a3b4-de853c15347d>";gruu="sip:user@cosmo.local;opaque=user:epid:21nYNIVlkV-jtN6FPBU0fQAA;gruu"',
  'Expires: 7200',
  'presence-state: register-action="added"',
  'Allow-Events: vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,vnd-microsoft-roaming-ACL,presence,presence.wpending,vnd-microsoft-roaming-self,vnd-microsoft-provisioning-v2',
  'Supported: adhoclist',
  'Server: RTC/3.5',
  'Supported: msrtc-event-categories',
  'Content-Length: 0',
  '',
  '',
].join('\r\n')

function parse(text: string): SipMessage {
  const [m] = new SipFramer().push(Buffer.from(text, 'latin1'))
  if (m === undefined || m === 'ping' || m === 'pong') throw new Error('no message')
  return m
}

function asType<T extends NtlmMessage['type']>(m: NtlmMessage, type: T): Extract<NtlmMessage, { type: T }> {
  if (m.type !== type) throw new Error(`NTLM type ${m.type}, not ${type}`)
  return m as Extract<NtlmMessage, { type: T }>
}

const R2_CLIENT = { user: 'User', domain: 'COSMO', password: 'Pa$$word', workstation: 'COSMO-OCS-R2' }
const R2_TIME = Buffer.from('59519A1727B9CA01', 'hex').readBigUInt64LE()
const R2_CLIENT_CHALLENGE = hex('D6AE875CB0FDAA41')

/** SIPE: the server's view of the recorded AUTHENTICATE. */
function r2Association(): NtlmAssociation {
  const auth = asType(decodeNtlm(b64(R2_AUTHENTICATE)), 3)
  const keys = serverSessionKeys(auth, R2_CLIENT.password)!
  return { keys, version: 4, realm: 'SIP Communications Service', targetname: 'cosmo-ocs-r2.cosmo.local' }
}

describe('SIPE: OCS 2007 R2 and Communicator 2007 R2, connectionless NTLMv2 (server side)', () => {
  it('the lab sends the CHALLENGE OCS 2007 R2 sent, byte for byte, for the same names and challenge', () => {
    const ours = connectionlessChallenge(hex('DD1BAAF4E7E218D1'), {
      netbiosDomain: 'COSMO',
      host: 'cosmo-ocs-r2.cosmo.local',
      dnsDomain: 'cosmo.local',
    })
    expect(toHex(ours)).toBe(toHex(b64(R2_CHALLENGE)))
    expect(asType(decodeNtlm(ours), 2).flags >>> 0).toBe(0xe29882f3)
  })

  it('verifies the recorded AUTHENTICATE and reads its encrypted session key', () => {
    const auth = asType(decodeNtlm(b64(R2_AUTHENTICATE)), 3)
    expect(auth.flags >>> 0).toBe(0x62988255)
    expect(toHex(auth.encryptedSessionKey)).toBe('31CB739E1CA80A498591E8AE797115E4')
    expect(verifyNtlm(auth, hex('DD1BAAF4E7E218D1'), R2_CLIENT.password)).toBe('NTLMv2')
    expect(verifyNtlm(auth, hex('DD1BAAF4E7E218D1'), 'Password')).toBeUndefined()
  })

  it('builds the v4 signature buffer of the recorded REGISTER and verifies its signature', () => {
    const register = parse(R2_REGISTER)
    const p = parseAuthParams(register.headers.get('proxy-authorization')!).params
    const sa = r2Association()
    expect(signatureBuffer(register, { ...sa, scheme: 'NTLM', rand: p.crand!, num: p.cnum! })).toBe(
      '<NTLM><13317733><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><><><><>',
    )
    expect(signature(register, sa, 'client', p.crand!, p.cnum!)).toBe('0100000029618e9651b65a7764000000')
    expect(
      verifySignature(register, sa, 'client', { rand: p.crand!, num: p.cnum!, response: p.response! }),
    ).toBe(true)
  })

  it('signs the recorded 200 OK exactly as OCS 2007 R2 did (rspauth)', () => {
    const ok = parse(R2_OK)
    const p = parseAuthParams(ok.headers.get('authentication-info')!).params
    const sa = r2Association()
    expect(signatureBuffer(ok, { ...sa, scheme: 'NTLM', rand: p.srand!, num: p.snum! })).toBe(
      '<NTLM><9616454F><1><SIP Communications Service><cosmo-ocs-r2.cosmo.local><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664><><><7200><200>',
    )
    expect(signature(ok, sa, 'server', p.srand!, p.snum!).toUpperCase()).toBe(p.rspauth)
    // The client keys do not make the server's signature: each direction has its own.
    expect(signature(ok, sa, 'client', p.srand!, p.snum!).toUpperCase()).not.toBe(p.rspauth)
  })
})

describe('SIPE: Communicator 2007 R2 side (what the emulated phone sends and checks)', () => {
  it('the lab writes the recorded AUTHENTICATE, byte for byte, from the same inputs', () => {
    const challenge = asType(decodeNtlm(b64(R2_CHALLENGE)), 2)
    // The random session key Communicator chose: RC4 of the recorded encrypted key under the session base key.
    const sa = r2Association()
    const { message, keys } = authenticateWithKey({
      challenge,
      ...R2_CLIENT,
      clientChallenge: R2_CLIENT_CHALLENGE,
      timestamp: R2_TIME,
      randomSessionKey: randomSessionKeyOfRecording(),
    })
    expect(toHex(message)).toBe(toHex(b64(R2_AUTHENTICATE)))
    expect(toHex(keys.client.sign)).toBe(toHex(sa.keys.client.sign))
    expect(toHex(keys.server.seal)).toBe(toHex(sa.keys.server.seal))
  })

  it('the v4 buffer keeps P-Asserted-Identity and an empty Expires (sipe, a Symbian client’s 180)', () => {
    const ringing = parse(
      [
        'SIP/2.0 180 Ringing',
        'Authentication-Info: NTLM rspauth="010000003EA8D688BA51D5CD64000000", srand="1B6D47A1", snum="11", opaque="357E6F72", qop="auth", targetname="LOC-COMPANYT-FE03.COMPANY.COM", realm="SIP Communications Service"',
        'Via: SIP/2.0/tls 192.168.44.10:50230;received=10.117.245.254;ms-received-port=50230;ms-received-cid=37ABE00',
        'FROM: "Sender"<sip:sender@company.com>;tag=2420628112;epid=54392f1bbf01',
        'TO: "recipient"<sip:recipient@company.com>;tag=7aee15546a;epid=3102EB8BD1',
        'CSEQ: 1 INVITE',
        'CALL-ID: 41CEg82ECa0AC8i3DD7mE673t9CF4b19DAxF780x',
        'CONTENT-LENGTH: 0',
        'P-ASSERTED-IDENTITY: "recipient"<SIP:recipient@company.com>',
        '',
        '',
      ].join('\r\n'),
    )
    expect(
      signatureBuffer(ringing, {
        version: 4,
        scheme: 'NTLM',
        rand: '1B6D47A1',
        num: '11',
        realm: 'SIP Communications Service',
        targetname: 'LOC-COMPANYT-FE03.COMPANY.COM',
      }),
    ).toBe(
      '<NTLM><1B6D47A1><11><SIP Communications Service><LOC-COMPANYT-FE03.COMPANY.COM><41CEg82ECa0AC8i3DD7mE673t9CF4b19DAxF780x><1><INVITE><sip:sender@company.com><2420628112><sip:recipient@company.com><7aee15546a><SIP:recipient@company.com><><><180>',
    )
  })

  it('version 2: OCS 2007’s signed 200 OK to sipe verifies with the exported key and sequence 100', () => {
    // SIPE, "Verify signature of SIPE message received from OCS 2007": no extended session security.
    const ok = parse(
      [
        'SIP/2.0 200 OK',
        'Authentication-Info: NTLM rspauth="0100000000000000BF2E52667DDF6DED", srand="0878F41B", snum="1", opaque="4452DFB0", qop="auth", targetname="ocs1.ocs.provo.novell.com", realm="SIP Communications Service"',
        'From: "Gabriel Burt"<sip:gabriel@ocs.provo.novell.com>;tag=2947328781;epid=1234567890',
        'To: <sip:gabriel@ocs.provo.novell.com>;tag=B816D65C2300A32CFA6D371F2AF537FD',
        'Call-ID: 8592g5DCBa1694i5887m0D0Bt2247b3F38xAE9Fx',
        'CSeq: 3 REGISTER',
        'Expires: 900',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    )
    expect(
      signatureBuffer(ok, {
        version: 2,
        scheme: 'NTLM',
        rand: '0878F41B',
        num: '1',
        realm: 'SIP Communications Service',
        targetname: 'ocs1.ocs.provo.novell.com',
      }),
    ).toBe(
      '<NTLM><0878F41B><1><SIP Communications Service><ocs1.ocs.provo.novell.com><8592g5DCBa1694i5887m0D0Bt2247b3F38xAE9Fx><3><REGISTER><sip:gabriel@ocs.provo.novell.com><2947328781><B816D65C2300A32CFA6D371F2AF537FD><900><200>',
    )
  })
})

/** SIPE: the random session key Communicator chose, recovered from the recording as the server recovers it. */
function randomSessionKeyOfRecording(): Uint8Array {
  const auth = asType(decodeNtlm(b64(R2_AUTHENTICATE)), 3)
  // NTLMv2: the key exchange key is the session base key, HMAC_MD5(NTOWFv2, NTProofStr).
  return rc4(ntlmv2SessionKey(auth, R2_CLIENT.password)!, auth.encryptedSessionKey)
}

describe('[MS-NLMP] §4.2.4 NTLMv2 session security (the specification’s worked example)', () => {
  // User "User", domain "Domain", password "Password"; RandomSessionKey 55…55; flags with KEY_EXCH.
  const flags =
    NtlmFlag.keyExchange |
    NtlmFlag.key56 |
    NtlmFlag.key128 |
    NtlmFlag.version |
    NtlmFlag.targetInfo |
    NtlmFlag.extendedSessionSecurity |
    0x00020000 |
    NtlmFlag.alwaysSign |
    NtlmFlag.ntlm |
    NtlmFlag.seal |
    NtlmFlag.sign |
    NtlmFlag.oem |
    NtlmFlag.unicode
  const exported = hex('55555555555555555555555555555555')

  it('§4.2.4.2.3: the encrypted session key', () => {
    expect(flags >>> 0).toBe(0xe28a8233)
    expect(toHex(rc4(hex('8DE40CCADBC14A82F15CB0AD0DE95CA3'), exported))).toBe(
      'C5DAD2544FC9799094CE1CE90BC9D03E',
    )
  })

  it('§4.2.4.4: the client’s signing and sealing keys, the sealed text and the MAC', () => {
    const keys = sessionKeys(flags, exported)
    expect(toHex(keys.client.sign)).toBe('4788DC861B4782F35D43FD98FE1A2D39')
    expect(toHex(keys.client.seal)).toBe('59F600973CC4960A25480A7C196E4C58')
    const plaintext = Buffer.from('Plaintext', 'utf16le')
    expect(toHex(rc4(keys.client.seal, plaintext))).toBe('54E50165BF1936DC996020C1811B0F06FB5F')
    // Without KEY_EXCH the checksum is the HMAC itself (sipe's test of the same example).
    expect(toHex(sealedMac(keys.client, flags & ~NtlmFlag.keyExchange, 0, plaintext))).toBe(
      '0100000070352851F256430900000000',
    )
  })

  it('§4.2.3.4: extended session security without KEY_EXCH (NTLMv1 keys)', () => {
    const ess = NtlmFlag.key56 | NtlmFlag.version | NtlmFlag.extendedSessionSecurity | NtlmFlag.alwaysSign
    const keys = sessionKeys(
      ess | NtlmFlag.ntlm | NtlmFlag.seal | NtlmFlag.sign,
      hex('EB93429A8BD952F8B89C55B87F475EDC'),
    )
    expect(toHex(keys.client.sign)).toBe('60E799BE5C72FC92922AE8EBE961FB8D')
    expect(toHex(keys.client.seal)).toBe('04DD7F014D8504D265A25CC86A3A7C06')
    expect(toHex(sealedMac(keys.client, ess, 0, Buffer.from('Plaintext', 'utf16le')))).toBe(
      '01000000FF2AEB52F681793A00000000',
    )
  })
})

describe('[MS-SIPRE] §4: the +sip.instance a client derives from its epid', () => {
  it('epid 01010101 → urn:uuid:4b1682a8-f968-5701-83fc-7c6741dc6697 (the specification’s example, also in sipe)', () => {
    expect(instanceOfEpid('01010101')).toBe('4b1682a8-f968-5701-83fc-7c6741dc6697')
  })
})

describe('SIPE: the GRUU OCS 2007 R2 gave the recorded registration', () => {
  it('instance 34d859db-6585-5f91-a3b4-de853c15347d → opaque user:epid:21nYNIVlkV-jtN6FPBU0fQAA', () => {
    expect(gruuOpaque('34d859db-6585-5f91-a3b4-de853c15347d')).toBe('user:epid:21nYNIVlkV-jtN6FPBU0fQAA')
  })
})

describe('[MS-SIPREGE] §2.2.2.5: the provisioning v2 document, read as sipe reads it', () => {
  const input: ProvisioningInput = {
    site: {
      sipDomain: 'fabrikam.com',
      smtpDomain: 'fabrikam.com',
      adDomain: 'fabrikam.com',
      netbiosName: 'FABRIKAM',
      dhcpDomain: 'fabrikam.com',
      searchList: ['fabrikam.com'],
      subnet: '10.0.0.0/24',
      labAddress: '10.0.0.1',
    },
    user: {
      signInAddress: 'alice@fabrikam.com',
      password: 'x',
      userName: 'alice',
      email: 'alice@fabrikam.com',
      displayName: 'Alice',
    } as ProvisioningInput['user'],
    pool: 'clientmainse.fabrikam.com',
    dus: {
      internal: 'https://clientmainse.fabrikam.com/RequestHandler/ucdevice.upx',
      external: 'https://edge.fabrikam.com/RequestHandlerExt/ucdevice.upx',
    },
    abs: { internal: 'https://clientmainse.fabrikam.com/abs/int/handler', external: 'https://edge/abs/ext' },
    emailInProvisioning: true,
    properties: {},
  }

  it('ServerConfiguration carries its settings as child elements (§2.2.2.5.1), as sipe_process_provisioning_v2 reads them', () => {
    const doc = parseXml(provisioningV2(input))
    expect(doc.name).toBe('provisionGroupList')
    const server = children(doc, 'provisionGroup').find((g) => g.attrs.name === 'ServerConfiguration')
    // sipe: sipe_xml_data(sipe_xml_child(node, "absInternalServerUrl")) — a child of the group itself.
    expect(path(server, 'absInternalServerUrl')?.text).toBe(input.abs.internal)
    expect(path(server, 'updatesServerInternalUrl')?.text).toBe(input.dus!.internal)
    expect(path(server, 'propertyEntryList')).toBeUndefined()
    // The names are the data model's, Phone Edition's policy among them (no ucPolicy group of its own).
    const names = new Set(server!.children.map((c) => c.name))
    for (const n of [
      'absExternalServerUrl',
      'updatesServerExternalUrl',
      'updatesServerEnabled',
      'ucEnforcePinLock',
      'ucMinPinLength',
      'ucPhoneTimeOut',
      'ucExchangeMWIPoll',
      'ucDiffServVoice',
      'ucVoice802_1p',
      'voiceMailUri',
    ])
      expect(names.has(n), n).toBe(true)
    expect(children(doc, 'provisionGroup').map((g) => g.attrs.name)).toEqual([
      'ServerConfiguration',
      'userSetting',
    ])
  })

  it('other groups carry a propertyEntryList of named properties (§4.2.2’s endpointConfiguration shape)', () => {
    const doc = parseXml(provisioningV2(input))
    const user = children(doc, 'provisionGroup').find((g) => g.attrs.name === 'userSetting')
    const props = children(path(user, 'propertyEntryList'), 'property')
    expect(props.map((p) => [p.attrs.name, p.text])).toContainEqual([
      'primaryEmailAddress',
      'alice@fabrikam.com',
    ])
  })
})
