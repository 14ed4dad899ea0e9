import { describe, expect, it } from 'vitest'
import { parseXml, path } from '../../core/xml.js'
import {
  compareVersions,
  decide,
  dusResponse,
  mimeType,
  parseDusRequest,
  parseFilePath,
  standInFile,
  type DusConfig,
} from './dus.js'
import { upxRequest } from '../../test/helpers/dus.js'

const CONFIG: DusConfig = {
  approved: '3.5.6907.35',
  pending: [],
  testDevices: [],
  downloadUrls: 'set',
}

describe('Device Update Service', () => {
  it('reads the request by local names, whatever the wrapping', () => {
    const r = parseDusRequest(upxRequest('1.0.522.73'))
    expect(r).toMatchObject({
      mac: '00:04:f2:11:22:33',
      model: 'CX700',
      revision: 'A',
      locale: 'ENU',
      user: 'CORP\\alice',
    })
    expect(r.modules).toEqual([
      { filename: 'CPE.nbt', version: '1.0.522.73', timestamp: '2009-01-01T00:00:00Z' },
    ])
    const other = parseDusRequest(
      '<x:Envelope xmlns:x="u"><x:Body><Module><Name>CPE.nbt</Name><Version>3.5.6907.35</Version></Module></x:Body></x:Envelope>',
    )
    expect(other.modules[0]?.version).toBe('3.5.6907.35')
    expect(other.model).toBe('CX700') // the defaults of the only device the lab knows
  })

  it('offers the approved version, never a rung between (1.0.199.123 gets 3.5.6907.35, not the R1 build)', () => {
    const at = (v: string, c: DusConfig = CONFIG) => decide(parseDusRequest(upxRequest(v)), c)
    expect(at('1.0.199.123')).toEqual({ current: '1.0.199.123', offered: '3.5.6907.35', outcome: 'update' })
    expect(at('1.0.522.101')).toMatchObject({ offered: '3.5.6907.35', outcome: 'update' })
    expect(at('3.5.6907.35')).toMatchObject({ offered: '3.5.6907.35', outcome: 'current' })
    expect(at('9.9')).toMatchObject({ offered: '9.9', outcome: 'current' })
    // Step 1 of the two-step upgrade: 1.0.522.101 approved for the R1 phones.
    expect(at('1.0.522.73', { ...CONFIG, approved: '1.0.522.101' })).toMatchObject({
      offered: '1.0.522.101',
      outcome: 'update',
    })
  })

  it('offers a pending version to test devices only (F21)', () => {
    const pending: DusConfig = {
      ...CONFIG,
      approved: '1.0.522.101',
      pending: ['3.5.6907.35'],
      testDevices: ['00:04:f2:aa:bb:cc'],
    }
    const at = (v: string, mac?: string) => decide(parseDusRequest(upxRequest(v, mac)), pending)
    expect(at('1.0.522.101')).toMatchObject({ offered: '1.0.522.101', outcome: 'pending' })
    expect(at('1.0.522.101', '0004F2AABBCC')).toMatchObject({ offered: '3.5.6907.35', outcome: 'update' })
    expect(at('1.0.522.73')).toMatchObject({ offered: '1.0.522.101', outcome: 'update' })
  })

  it('answers with the version and the BaseURL/ExternalBaseURL folders, blank when the URLs are unset (F19)', () => {
    const r = parseDusRequest(upxRequest('1.0.522.73'))
    const urls = { internal: 'http://ocspool.contoso.test', external: 'https://ocspool.contoso.test' }
    const step1: DusConfig = { ...CONFIG, approved: '1.0.522.101' }
    const doc = parseXml(dusResponse(r, decide(r, step1), urls, new Date(0)))
    expect(path(doc, 'Modules', 'Module', 'Version')?.text).toBe('1.0.522.101')
    expect(path(doc, 'BaseURL')?.text).toBe(
      'http://ocspool.contoso.test/DeviceUpdateFiles_Int/UCPhone/Polycom/CX700/A/ENU/1.0.522.101/CPE',
    )
    expect(path(doc, 'ExternalBaseURL')?.text).toContain(
      'https://ocspool.contoso.test/DeviceUpdateFiles_Ext/',
    )
    const blank = parseXml(dusResponse(r, decide(r, CONFIG), undefined, new Date(0)))
    expect(path(blank, 'BaseURL')?.text).toBe('')
  })

  it('finds update files by path, with IIS’s MIME types, and makes marked stand-ins', () => {
    expect(
      parseFilePath('/DeviceUpdateFiles_Int/UCPhone/Polycom/CX700/A/ENU/1.0.522.101/CPE/CPE.nbt'),
    ).toEqual({
      version: '1.0.522.101',
      file: 'CPE.nbt',
    })
    expect(parseFilePath('/DeviceUpdateFiles_Int/../../etc/passwd')).toBeUndefined()
    expect(parseFilePath('/DeviceUpdateFiles_Int/a/b/c/d/e/..%2F..%2Fx/CPE/CPE.nbt')).toBeUndefined()
    expect(mimeType('CPE.NBT')).toBe('binary/octet-stream')
    expect(mimeType('CPE.cat')).toBe('binary/octet-stream')
    expect(mimeType('x.exe')).toBeUndefined()
    const image = standInFile('1.0.522.101', 'CPE.nbt')!
    expect(image.length).toBe(256 * 1024)
    expect(image.toString('latin1', 0, 50)).toContain('STAND-IN IMAGE 1.0.522.101')
    expect(standInFile('1.0.522.101', 'CPE.nbt')!.equals(image)).toBe(true)
    expect(standInFile('1.0.522.101', 'other.bin')).toBeUndefined()
    expect(compareVersions('3.5.6907.35', '1.0.522.101')).toBeGreaterThan(0)
  })
})
