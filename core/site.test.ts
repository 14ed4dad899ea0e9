import { describe, expect, it } from 'vitest'
import { accountName, accountPart, userPrincipalName } from './site.js'

describe('the names a user goes by, written once', () => {
  it('the account part of DOMAIN\\user and user@domain, as typed and as AD compares it', () => {
    expect(accountPart('CONTOSO\\Alice')).toBe('Alice')
    expect(accountPart('Alice@corp.contoso.test')).toBe('Alice')
    expect(accountPart('alice')).toBe('alice')
    expect(accountName('CONTOSO\\Alice')).toBe('alice')
    expect(accountName('Alice@corp.contoso.test')).toBe('alice')
  })

  it('the userPrincipalName: as typed with a domain, else the account at the AD domain', () => {
    expect(userPrincipalName('Alice@contoso.test', 'corp.contoso.test')).toBe('Alice@contoso.test')
    expect(userPrincipalName('CONTOSO\\Alice', 'corp.contoso.test')).toBe('Alice@corp.contoso.test')
  })
})
