import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { manualClock } from '../core/clock.js'
import { LAB_CA_NOT_BEFORE, LabPki } from '../certs/pki.js'
import { loadScenario } from '../lab/scenario/load.js'
import { DEFAULT_GUESSES } from './context.js'
import { checkChain } from './trust.js'

/*
 * What a lab clock earlier than the CA's creation means (certs/pki.ts LAB_CA_NOT_BEFORE): the lab's own
 * certificates stay valid for it, judged as the phone judges them; a phone whose clock was never set does not
 * find them valid (F5).
 */
const scenario = loadScenario(
  't.yaml',
  `version: 1
name: t
site: { sipDomain: contoso.test, adDomain: corp.contoso.test }
`,
)
const stateDir = mkdtempSync(join(tmpdir(), 'cx700-trust-'))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))
const YEAR = 365 * 86_400_000

const open = (labMs: number): Promise<LabPki> =>
  LabPki.open({
    stateDir,
    clock: manualClock(labMs),
    config: scenario.pki,
    site: scenario.site,
    hosts: scenario.hosts,
  })

describe('the lab CA against the lab clock', () => {
  it('a CA made today still anchors the pool’s certificate for a lab clock started a year earlier', async () => {
    const now = Date.now()
    const made = await open(now)
    expect(made.created).toContain('root-sha1-2048')
    const earlier = now - YEAR
    const pki = await open(earlier)
    expect(pki.created).toEqual([])
    const pool = pki.servers.find((s) => s.host === 'ocspool.contoso.test')!
    const chain = [pool.certificate, ...pool.intermediates]
    expect(
      await checkChain(chain, [pki.root.certificate], 'ocspool.contoso.test', new Date(earlier)),
    ).toEqual({
      ok: true,
    })
    expect(pki.root.certificate.notBefore.getTime()).toBe(LAB_CA_NOT_BEFORE)
  })

  it('a phone whose clock was never set finds the lab’s certificates not yet valid (F5)', async () => {
    const unset = new Date(DEFAULT_GUESSES.unsetClock)
    expect(unset.getTime()).toBeLessThan(LAB_CA_NOT_BEFORE)
    const pki = await open(Date.now())
    const pool = pki.servers.find((s) => s.host === 'ocspool.contoso.test')!
    expect(
      await checkChain([pool.certificate], [pki.root.certificate], 'ocspool.contoso.test', unset),
    ).toMatchObject({ ok: false, failure: 'not-yet-valid' })
  })
})

describe('which installed certificates anchor a chain (issue 35, departure 3)', () => {
  it('only a self-signed root by default; every installed CA certificate with anchors: installed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cx700-anchors-'))
    try {
      const pki = await LabPki.open({
        stateDir: dir,
        clock: manualClock(Date.now()),
        config: { ...scenario.pki, intermediate: true },
        site: scenario.site,
        hosts: scenario.hosts,
      })
      const pool = pki.servers.find((s) => s.host === 'ocspool.contoso.test')!
      const issuing = pool.intermediates[0]!
      expect(issuing.subject).not.toBe(issuing.issuer)
      const chain = [pool.certificate, ...pool.intermediates]
      const now = new Date()
      // Only the issuing CA installed (what AIA and NTAuthCertificates hold): it helps, it does not anchor.
      expect(await checkChain(chain, [issuing], 'ocspool.contoso.test', now)).toMatchObject({
        ok: false,
        failure: 'untrusted',
      })
      expect(await checkChain(chain, [issuing], 'ocspool.contoso.test', now, 'installed')).toEqual({
        ok: true,
      })
      expect(
        await checkChain([pool.certificate], [pki.root.certificate, issuing], 'ocspool.contoso.test', now),
      ).toEqual({
        ok: true,
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
