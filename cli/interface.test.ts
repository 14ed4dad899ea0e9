import { describe, expect, it } from 'vitest'
import { interfaceAdminToken, interfaceModeNames } from './interface.js'

describe('interface mode', () => {
  it('requires a token of the lab in the namespace when its socket is offered beyond loopback', async () => {
    // The proxy on 127.0.0.1 reaches only this host: no token, as for any loopback admin API.
    expect(await interfaceAdminToken('127.0.0.1', undefined)).toBeUndefined()
    expect(await interfaceAdminToken('::1', undefined)).toBeUndefined()
    // On every address (or the phones' link) anyone there would reach it: a token, made when not given.
    const made = await interfaceAdminToken('0.0.0.0', undefined)
    expect(made).toMatch(/^[A-Za-z0-9_-]{24}$/)
    expect(await interfaceAdminToken('0.0.0.0', undefined)).not.toBe(made)
    expect(await interfaceAdminToken('10.50.0.1', 'given')).toBe('given')
    // An operator's own token is required on loopback too.
    expect(await interfaceAdminToken('127.0.0.1', 'given')).toBe('given')
  })

  it('names its macvlan within Linux’s 15 characters, and both names stably per NIC', () => {
    const a = interfaceModeNames('enp0s31f6')
    expect(a.link.length).toBeLessThanOrEqual(15)
    expect(a.namespace).toBe('cx700-enp0s31f6')
    expect(interfaceModeNames('enp0s31f6')).toEqual(a)
    expect(interfaceModeNames('eth1').link).not.toBe(a.link)
  })
})
