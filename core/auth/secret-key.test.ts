import { createCipheriv, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { secretKey } from './secret-key.js'

describe('secretKey', () => {
  it('gives the MAC and the cipher text the raw key gives', () => {
    const key = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex')
    const data = Buffer.from('the quick brown fox jumps over the lazy dog')
    expect(createHmac('md5', secretKey(key)).update(data).digest()).toEqual(
      createHmac('md5', key).update(data).digest(),
    )
    const block = data.subarray(0, 16)
    const encrypt = (k: Parameters<typeof createCipheriv>[1]): Buffer => {
      const c = createCipheriv('aes-128-ecb', k, null)
      c.setAutoPadding(false)
      return Buffer.concat([c.update(block), c.final()])
    }
    expect(encrypt(secretKey(key))).toEqual(encrypt(key))
  })

  it('keeps the empty key HMAC allows as bytes', () => {
    const empty = new Uint8Array(0)
    expect(secretKey(empty)).toBe(empty)
    expect(createHmac('sha1', secretKey(empty)).update('x').digest('hex')).toBe(
      createHmac('sha1', '').update('x').digest('hex'),
    )
  })
})
