import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { createLogger } from '../../core/logger.js'
import { proofTable, proveStories, type Proof } from '../../cli/prove.js'

/*
 * verify --prove (issue 35): every story of the catalogue passes as written, fails without its cause, and
 * fails with the cause of every other story that ends where it does — so a story cannot pass without its
 * cause or with a neighbour's. The whole catalogue is proved here, each distinct run once, in parallel.
 */
const dir = join(packageRoot(), 'scenarios')
const DEFAULT = join(dir, 'default.yaml')
const logger = createLogger({ quietByDefault: true })

const failures = (proofs: readonly Proof[]): string[] =>
  proofs.flatMap((p) =>
    p.problem !== undefined
      ? [p.problem]
      : p.checks.filter((c) => !c.ok).map((c) => `${p.story}: ${c.run}: ${c.detail}`),
  )

describe('verify --prove', () => {
  it('proves every story of the catalogue: its cause, and not its neighbours’, makes its end', async () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(dir, f))
    const started = performance.now()
    const proofs = await proveStories(files, { logger, parallel: availableParallelism() })
    const seconds = Math.round((performance.now() - started) / 1000)
    console.log(proofTable(proofs, seconds))
    expect(failures(proofs)).toEqual([])
    // Every file but the base is a story, and each was run as written, without its cause and against others.
    expect(proofs).toHaveLength(files.length - 1)
    for (const p of proofs)
      expect(p.checks.map((c) => c.run).slice(0, 2)).toEqual(['as written', 'without its cause'])
    // F6 ends where it does because of the emulator's Kerberos guess, and says so: the guess's run is proof.
    expect(proofs.find((p) => p.story === 'f6-clock-skew')!.checks.at(-1)).toMatchObject({
      run: 'with the guess kerberos=off',
      ok: true,
      endState: 'signed-in',
    })
    const f19 = proofs.find((p) => p.story === 'f19-dus-blank-urls')!
    expect(f19.checks.map((c) => c.run)).toEqual([
      'as written',
      'without its cause',
      'with the cause of f20-dus-no-mime-types',
      'with the cause of f21-dus-pending-only',
    ])
  }, 600_000)

  it('fails a story its cause does not make, one whose expect: passes with a neighbour’s cause, and says why', async () => {
    const temp = mkdtempSync(join(tmpdir(), 'cx700-prove-test-'))
    try {
      const story = (name: string, body: string): string => {
        const file = join(temp, `${name}.yaml`)
        writeFileSync(file, `version: 1\nname: ${name}\nextends: ${DEFAULT}\n${body}`)
        return file
      }
      const blank = story(
        'blank-urls',
        'servers: { http: { dus: { downloadUrls: blank } } }\ncause: { is: [/servers/http/dus/downloadUrls] }\nexpect: { endState: signed-in-not-updated }\n',
      )
      const mime = story(
        'no-mime',
        "servers: { http: { dus: { mimeTypes: false } } }\ncause: { is: [/servers/http/dus/mimeTypes] }\nexpect:\n  endState: signed-in-not-updated\n  journal: [{ some: { server: http, contains: 'no MIME type' } }]\n",
      )
      // The cause is written, but the story would end there without it (the NTP server is not the cause).
      const idle = story(
        'ntp-knob',
        'servers: { ntp: { stratum: 3 } }\ncause: { is: [/servers/ntp/stratum] }\nexpect: { endState: signed-in }\n',
      )
      // It claims its end holds with Kerberos off; it does not (NTLM never checks the skew).
      const skew = story(
        'skew-claim',
        "servers: { ntp: { offset: '+10m' } }\ncause:\n  is: [/servers/ntp/offset]\n  guesses: [{ with: { kerberos: 'off' }, ends: kerberos-skew }]\nexpect: { endState: kerberos-skew }\n",
      )
      const none = story('no-cause', 'expect: { endState: signed-in }\n')
      const nowhere = story(
        'nowhere',
        'cause:\n  is: [/servers/dns/remove]\nexpect: { endState: signed-in }\n',
      )
      const proofs = await proveStories([DEFAULT, blank, mime, idle, skew, none, nowhere], {
        logger,
        parallel: 2,
      })
      const by = (name: string): Proof => proofs.find((p) => p.story === name)!
      expect(by('blank-urls').proved).toBe(false)
      expect(by('blank-urls').checks.find((c) => !c.ok)).toMatchObject({
        run: 'with the cause of no-mime',
        detail: 'passes: its expect: does not tell this cause from its own',
      })
      expect(by('no-mime').proved).toBe(true)
      expect(by('ntp-knob').checks.find((c) => !c.ok)).toMatchObject({
        run: 'without its cause',
        detail: 'still passes: the cause is not what makes the story',
      })
      expect(by('skew-claim').checks.find((c) => !c.ok)).toMatchObject({
        run: 'with the guess kerberos=off',
        endState: 'signed-in',
        detail: 'ends signed-in, not kerberos-skew as cause.guesses says',
      })
      expect(by('no-cause').problem).toMatch(/no-cause\.yaml:1 {2}declares no cause:/)
      expect(by('nowhere').problem).toMatch(
        /nowhere\.yaml:5 {2}cause \/servers\/dns\/remove points at nothing/,
      )
      expect(proofs.map((p) => p.story)).not.toContain('default')
    } finally {
      rmSync(temp, { recursive: true, force: true })
    }
  }, 120_000)
})
