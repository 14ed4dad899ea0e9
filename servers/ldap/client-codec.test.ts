import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../core/errors.js'
import {
  decodeLdapResponse,
  encodeBindRequest,
  encodeSearchRequest,
  encodeUnbindRequest,
} from './client-codec.js'
import {
  LdapOp,
  LdapResult,
  decodeLdapMessage,
  encodeBindResponse,
  encodeResult,
  encodeSearchEntry,
  encodeSearchReference,
} from './codec.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const CONFIG_NC = 'CN=Configuration,DC=corp,DC=contoso,DC=test'

describe('the client side of LDAP: requests as a real client writes them', () => {
  // Known answers: what ldapsearch 2.5 (OpenLDAP) sent on loopback (the same capture servers/ldap/codec.test.ts
  // decodes): a simple bind as CONTOSO\alice, then the CX700's second trust search.
  it('writes the simple bind ldapsearch wrote, octet for octet', () => {
    expect(encodeBindRequest(1, { name: 'CONTOSO\\alice', password: 'Passw0rd!' })).toEqual(
      hex('3022020101601d020103040d434f4e544f534f5c616c6963658009506173737730726421'),
    )
  })

  it('writes the search ldapsearch wrote, octet for octet', () => {
    const search = encodeSearchRequest(2, {
      base: CONFIG_NC,
      scope: 'sub',
      filter: { type: 'equality', attribute: 'objectCategory', value: Buffer.from('pKIEnrollmentService') },
      attributes: ['dNSHostName'],
    })
    expect(search).toEqual(
      hex(`30780201026373042b434e3d436f6e66696775726174696f6e2c44433d636f72702c44433d636f6e746f736f2c
      44433d746573740a01020a0100020100020100010100a326040e6f626a65637443617465676f72790414704b49456e726f6c6c6d656e7453657276
      696365300d040b644e53486f73744e616d65`),
    )
  })

  it('writes a SASL bind with binary credentials the server reads back unchanged (every octet value)', () => {
    const credentials = Uint8Array.from({ length: 256 }, (_, i) => i)
    const m = decodeLdapMessage(encodeBindRequest(3, { mechanism: 'GSS-SPNEGO', credentials }))
    expect(m.op).toEqual({
      kind: 'sasl-bind',
      version: 3,
      name: '',
      mechanism: 'GSS-SPNEGO',
      credentials: Buffer.from(credentials),
    })
  })

  it('writes presence, and, or and not filters, and the unbind, as the server reads them', () => {
    const filter = {
      type: 'and',
      filters: [
        { type: 'present', attribute: 'objectClass' },
        {
          type: 'not',
          filter: { type: 'or', filters: [{ type: 'le', attribute: 'a', value: Buffer.from('1') }] },
        },
      ],
    } as const
    const m = decodeLdapMessage(encodeSearchRequest(4, { base: '', scope: 'base', filter, attributes: [] }))
    expect(m.op).toMatchObject({ kind: 'search', base: '', scope: 'base', filter })
    expect(decodeLdapMessage(encodeUnbindRequest(5))).toEqual({ id: 5, op: { kind: 'unbind' }, controls: [] })
  })
})

describe('the client side of LDAP: responses as the server writes them', () => {
  it('reads a bind response with the server’s SASL credentials, and one without', () => {
    const creds = Buffer.from([0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00])
    expect(decodeLdapResponse(encodeBindResponse(1, LdapResult.success, '', creds))).toEqual({
      kind: 'bind',
      id: 1,
      code: 0,
      message: '',
      serverSaslCreds: creds,
    })
    const refused = encodeBindResponse(2, LdapResult.invalidCredentials, '80090308: LdapErr: data 52e')
    expect(decodeLdapResponse(refused)).toEqual({
      kind: 'bind',
      id: 2,
      code: 49,
      message: '80090308: LdapErr: data 52e',
    })
  })

  it('reads entries with binary values, references and the done', () => {
    const der = Buffer.from([0x30, 0x82, 0x00, 0xff, 0x80])
    expect(
      decodeLdapResponse(encodeSearchEntry(7, 'CN=CA', [{ type: 'cACertificate', values: [der] }])),
    ).toEqual({
      kind: 'entry',
      id: 7,
      dn: 'CN=CA',
      attributes: [{ type: 'cACertificate', values: [der] }],
    })
    expect(decodeLdapResponse(encodeSearchReference(7, ['ldap://dc2/']))).toEqual({
      kind: 'reference',
      id: 7,
      uris: ['ldap://dc2/'],
    })
    expect(decodeLdapResponse(encodeResult(7, LdapOp.searchResultDone, 0))).toEqual({
      kind: 'done',
      id: 7,
      code: 0,
      message: '',
    })
  })

  it('reads any response of the server’s, and a damaged one is LAB_ERR_LDAP_DECODE, never another error', () => {
    const attribute = fc.record({
      type: fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }),
      values: fc.array(
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        { maxLength: 3 },
      ),
    })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.string({ maxLength: 40, unit: 'grapheme' }),
        fc.array(attribute, { maxLength: 3 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (id, dn, attributes, at, octet) => {
          const frame = encodeSearchEntry(id, dn, attributes)
          expect(decodeLdapResponse(frame)).toEqual({ kind: 'entry', id, dn, attributes })
          const damaged = Buffer.from(frame)
          damaged[at % damaged.length] = octet
          try {
            decodeLdapResponse(damaged)
          } catch (err) {
            expect(err).toBeInstanceOf(LabDecodeError)
          }
          try {
            decodeLdapResponse(frame.subarray(0, at % frame.length))
          } catch (err) {
            expect(err).toBeInstanceOf(LabDecodeError)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
