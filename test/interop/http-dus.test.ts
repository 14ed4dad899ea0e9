import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseXml, path } from '../../core/xml.js'
import { upxRequest } from '../helpers/dus.js'
import { startTestLab, type TestLab } from '../helpers/lab.js'
import { curl, curlTo as curlLab } from '../helpers/curl.js'

const dir = mkdtempSync(join(tmpdir(), 'cx700-dus-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const curlTo = (t: TestLab, url: string, args: readonly string[] = []) => curlLab(t, dir, url, args)

const post = (body: string): string[] => ['-H', 'Content-Type: text/xml', '--data-binary', body]

describe.skipIf(curl.skip)('Device Update Service with curl', () => {
  it('POSTs ucdevice.upx over HTTP, then GETs CPE.nbt from the BaseURL it answers', async () => {
    await using t = await startTestLab()
    const http = t.port('http', 'http')
    const upx = await curlTo(
      t,
      `http://ucupdates-r2.contoso.test:${http}/RequestHandler/ucdevice.upx`,
      post(upxRequest('1.0.522.73')),
    )
    expect(upx.status).toBe(200)
    const doc = parseXml(upx.body.toString())
    // The approved version, whatever the phone runs (spec §6.2).
    expect(path(doc, 'Modules', 'Module', 'Version')?.text).toBe('3.5.6907.35')
    const base = path(doc, 'BaseURL')?.text ?? ''
    expect(base).toBe(
      `http://ocspool.contoso.test:${http}/DeviceUpdateFiles_Int/UCPhone/Polycom/CX700/A/ENU/3.5.6907.35/CPE`,
    )
    const image = await curlTo(t, `${base}/CPE.nbt`)
    expect(image.status).toBe(200)
    expect(image.type).toBe('binary/octet-stream')
    expect(image.body.toString('latin1', 0, 40)).toContain('STAND-IN IMAGE 3.5.6907.35')
    expect((await curlTo(t, `${base}/CPE.cat`)).type).toBe('binary/octet-stream')
    const ext = path(doc, 'ExternalBaseURL')?.text ?? ''
    expect((await curlTo(t, `${ext}/CPE.xml`)).status).toBe(200)
    const events = t.lab.journal.query({ kind: 'http:request' })
    expect(events[0]?.detail).toMatchObject({
      area: 'dus',
      operation: 'ucdevice.upx',
      address: '00:04:f2:11:22:33',
      code: 'update: 1.0.522.73 → 3.5.6907.35',
    })
  })

  it('answers /RequestHandlerExt over HTTPS only, and 400 for a body that is not XML', async () => {
    await using t = await startTestLab()
    const https = t.port('http', 'https')
    const ext = await curlTo(
      t,
      `https://ocspool.contoso.test:${https}/RequestHandlerExt/ucdevice.upx`,
      post(upxRequest('1.0.522.101')),
    )
    expect(ext.status).toBe(200)
    expect(path(parseXml(ext.body.toString()), 'Modules', 'Module', 'Version')?.text).toBe('3.5.6907.35')
    const plain = await curlTo(
      t,
      `http://ocspool.contoso.test:${t.port('http', 'http')}/RequestHandlerExt/ucdevice.upx`,
      post(upxRequest('1.0.522.101')),
    )
    expect(plain.status).toBe(403)
    const bad = await curlTo(
      t,
      `http://ocspool.contoso.test:${t.port('http', 'http')}/RequestHandler/ucdevice.upx`,
      post('<Request>'),
    )
    expect(bad.status).toBe(400)
  })
})
