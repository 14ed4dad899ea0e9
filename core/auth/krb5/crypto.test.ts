import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { LabDecodeError } from '../../errors.js'
import { aesCtsDecrypt, aesCtsEncrypt, checksum, decrypt, encrypt, nfold, stringToKey } from './crypto.js'
import { rc4 } from '../rc4.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** MIT krb5's known ciphertexts (src/lib/crypto/crypto_tests/t_decrypt.c), RC4-HMAC and AES-SHA1 only. */
const T_DECRYPT = JSON.parse(readFileSync(join(import.meta.dirname, 'mit-t_decrypt.json'), 'utf8')) as {
  etype: number
  usage: number
  plaintext: string
  key: string
  ciphertext: string
}[]

describe('RFC 3961 n-fold (appendix A.1 vectors)', () => {
  it.each([
    ['012345', 8, 'be072631276b1955'],
    ['password', 7, '78a07b6caf85fa'],
    ['Rough Consensus, and Running Code', 8, 'bb6ed30870b7f0e0'],
    ['password', 21, '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e'],
    ['MASSACHVSETTS INSTITVTE OF TECHNOLOGY', 24, 'db3b0d8f0b061e603282b308a50841229ad798fab9540c1b'],
    ['Q', 21, '518a54a215a8452a518a54a215a8452a518a54a215'],
    ['ba', 21, 'fb25d531ae8974499f52fd92ea9857c4ba24cf297e'],
    ['kerberos', 8, '6b65726265726f73'],
    ['kerberos', 16, '6b65726265726f737b9b5b2b93132b93'],
    ['kerberos', 21, '8372c236344e5f1550cd0747e15d62ca7a5a3bcea4'],
    ['kerberos', 32, '6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4'],
  ])('%s folded to %i octets', (input, bytes, out) => {
    expect(hex(nfold(Buffer.from(input, 'latin1'), bytes))).toBe(out)
  })
})

describe('RFC 3962 AES string-to-key (appendix B, as MIT’s t_str2key has them)', () => {
  it.each([
    [17, 1, '42263c6e89f4fc28b8df68ee09799f15'],
    [18, 1, 'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161'],
    [17, 2, 'c651bf29e2300ac27fa469d693bdda13'],
    [18, 2, 'a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff'],
    [17, 1200, '4c01cd46d632d01e6dbe230a01ed642a'],
    [18, 1200, '55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a'],
  ])('etype %i, %i iteration(s)', (etype, iterations, key) => {
    expect(hex(stringToKey(etype, 'password', 'ATHENA.MIT.EDUraeburn', iterations).bytes)).toBe(key)
  })

  it('gives the NT hash as the RC4-HMAC key (RFC 4757 §2)', () => {
    // MD4(UTF-16LE("password")): the well-known NT hash of "password".
    expect(hex(stringToKey(23, 'password', 'ignored').bytes)).toBe('8846f7eaee8fb117ad06bdd830b7586c')
  })
})

describe('RFC 3962 AES-CTS (appendix B: "chicken teriyaki")', () => {
  const key = Buffer.from('chicken teriyaki', 'latin1')
  const input = Buffer.from("I would like the General Gau's Chicken, please, and wonton soup.", 'latin1')
  it.each([
    [17, 'c6353568f2bf8cb4d8a580362da7ff7f97'],
    [31, 'fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5'],
    [32, '39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584'],
  ])('%i octets', (length, out) => {
    const cipher = aesCtsEncrypt(key, input.subarray(0, length))
    expect(hex(cipher)).toBe(out)
    expect(Buffer.from(aesCtsDecrypt(key, cipher))).toEqual(input.subarray(0, length))
  })

  it('round-trips every length from one block to four', () => {
    for (let n = 16; n <= 64; n++)
      expect(Buffer.from(aesCtsDecrypt(key, aesCtsEncrypt(key, input.subarray(0, n))))).toEqual(
        input.subarray(0, n),
      )
  })
})

describe('MIT krb5 known-answer vectors', () => {
  it.each(T_DECRYPT.map((v) => [v.etype, v.usage, v.plaintext.length / 2, v] as const))(
    't_decrypt: etype %i, usage %i, %i octets',
    (_e, _u, _n, v) => {
      const key = { etype: v.etype, bytes: h(v.key) }
      expect(hex(decrypt(key, v.usage, h(v.ciphertext)))).toBe(v.plaintext)
    },
  )

  it.each([
    [
      17,
      3,
      '9062430c8cda3388922e6d6a509f5b7a',
      'eight nine ten eleven twelve thirteen',
      '01a4b088d45628f6946614e3',
    ],
    [
      18,
      4,
      'b1ae4cd8462aff1677053cc9279aac30b796fb81ce21474dd3ddbcfea4ec76d7',
      'fourteen',
      'e08739e3279e2903ec8e3836',
    ],
    [
      23,
      6,
      'f7d3a155af5e238a0b7a871a96ba2ab2',
      'seventeen eighteen nineteen twenty',
      'eb38cc97e2230f59da4117dc5859d7ec',
    ],
  ])('t_cksums: etype %i, usage %i', (etype, usage, key, text, sum) => {
    expect(hex(checksum({ etype, bytes: h(key) }, usage, Buffer.from(text, 'latin1')).value)).toBe(sum)
  })
})

describe('encrypt and decrypt', () => {
  it.each([17, 18, 23])('round-trips for etype %i, and refuses the wrong key or usage', (etype) => {
    const key = stringToKey(etype, 'Passw0rd!', 'CORP.CONTOSO.TESTalice', 4096)
    const c = encrypt(key, 3, Buffer.from('as-rep enc-part'))
    expect(Buffer.from(decrypt(key, 3, c)).toString()).toBe('as-rep enc-part')
    expect(() => decrypt(key, 2, c)).toThrow(LabDecodeError)
    const other = stringToKey(etype, 'wrong', 'CORP.CONTOSO.TESTalice', 4096)
    expect(() => decrypt(other, 3, c)).toThrow(LabDecodeError)
    expect(() => decrypt(key, 3, c.subarray(0, 10))).toThrow(LabDecodeError)
  })

  it('RC4 is the stream cipher of RFC 6229’s first vector (key 0102030405)', () => {
    expect(hex(rc4(h('0102030405'), new Uint8Array(16)))).toBe('b2396305f03dc027ccc3524a0a1118a8')
  })
})
