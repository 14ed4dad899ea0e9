import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../lab/paths.js'
import { loadPack } from '../lab/training/pack.js'
import { parseUp, startFailure, trainBanner } from './up.js'

/* `up`'s first stage: the command line as a plan, checked before anything is read or bound. */
describe('cx700-lab up, parsed', () => {
  it('plans the defaults: loopback from the scenario, the admin API on 8700, captures of phones', () => {
    const plan = parseUp(['my.yaml'])
    expect(plan).toMatchObject({
      file: 'my.yaml',
      mode: undefined,
      ports: 'scenario',
      admin: { host: '127.0.0.1', port: 8700 },
      adminPath: undefined,
      journal: {},
      capture: { perDeviceBytes: 4 * 1024 * 1024, totalBytes: 32 * 1024 * 1024, scope: 'phones' },
    })
  })

  it('reads every option into the plan', () => {
    const plan = parseUp([
      '--mode=netns',
      '--admin=unix:/run/lab.sock',
      '--journal-memory-mb=2',
      '--journal-file-mb=0',
      '--capture=off',
      '--ports=ephemeral',
      '--watch',
    ])
    expect(plan).toMatchObject({
      mode: 'netns',
      adminPath: '/run/lab.sock',
      ports: 'ephemeral',
      watch: true,
      journal: { capacityBytes: 2 * 1024 * 1024, fileMaxBytes: 0 },
      capture: { perDeviceBytes: 0, totalBytes: 0 },
    })
    expect(parseUp(['-h'])).toBe('help')
  })

  it('refuses a bad option with a usage error naming it', () => {
    const refused = (argv: string[], what: RegExp): void =>
      expect(() => parseUp(argv)).toThrow(
        expect.objectContaining({ code: 'LAB_ERR_CLI_USAGE', message: expect.stringMatching(what) }),
      )
    refused(['a.yaml', 'b.yaml'], /one scenario file/)
    refused(['--mode=bridge'], /--mode is one of/)
    refused(['--ports=any'], /--ports is scenario or ephemeral/)
    refused(['--journal-memory-mb=0'], /--journal-memory-mb takes 1 or more/)
    refused(['--capture=some'], /--capture takes phones, all or off/)
    refused(['--admin=nowhere'], /--admin takes HOST:PORT/)
  })
})

describe('cx700-lab up, failing to start', () => {
  it('names the state folder and what it needs when the disk is full, where the error names no path', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
    expect(startFailure(full, '/var/lib/cx700')).toBe(
      "Failed to start: the lab's state folder /var/lib/cx700 cannot be written (ENOSPC: no space left on device, write). The lab keeps its PKI, journal and run files there and needs a few MiB free in it: free some space, or pass --state DIR on another disk.",
    )
    const wrapped = Object.assign(new Error('Failed to open the journal file x'), { cause: full })
    expect(startFailure(wrapped, '/s')).toContain('/s cannot be written')
    expect(startFailure(new Error('port 53 is taken'), '/s')).toBe('port 53 is taken')
    // A port refused to a user is EACCES too, and said as what it is (a pod without its sysctl showed it).
    const bind = Object.assign(
      new Error('Failed to start dns: port 53/udp needs root or CAP_NET_BIND_SERVICE.'),
      {
        code: 'LAB_ERR_SERVER_BIND',
        cause: Object.assign(new Error('bind EACCES'), { code: 'EACCES' }),
      },
    )
    expect(startFailure(bind, '/s')).toBe(bind.message)
  })
})

describe('the admin token from the environment (a Kubernetes Secret, issue 37)', () => {
  it('takes CX700_LAB_TOKEN when --token is not given, and --token over it', () => {
    expect(parseUp(['x.yaml'], { CX700_LAB_TOKEN: 'from-secret' })).toMatchObject({ token: 'from-secret' })
    expect(parseUp(['x.yaml', '--token', 'given'], { CX700_LAB_TOKEN: 'from-secret' })).toMatchObject({
      token: 'given',
    })
    expect(parseUp(['x.yaml'], { CX700_LAB_TOKEN: '' })).toMatchObject({ token: undefined })
  })
})

describe('the banner of cx700-lab train (issue 38)', () => {
  const pack = loadPack(join(packageRoot(), 'scenarios', 'training', 'half-day.yaml'))
  const info = {
    scenario: 'default',
    mode: 'loopback',
    runDir: '/state/runs/x',
    adminUrl: 'http://127.0.0.1:8700',
    pack,
    trainees: [] as { name: string; device: string; token: string }[],
  }

  it('names the pack, the console and what to do next, not the plain lab’s “Next: phone”', () => {
    const text = trainBanner(info)
    expect(text).toContain('Training class "Half a day of CX700 sign-in failures" on scenario "default"')
    expect(text).toContain(`Pack:      ${pack.file} — 9 exercises, 4 hands-on`)
    expect(text).toContain('Console:   http://127.0.0.1:8700/\n')
    expect(text).toContain('none yet: add each trainee in the console')
    expect(text).toContain('--live forever')
  })

  it('gives each trainee’s link whole (with their token), and the console’s token off loopback', () => {
    const text = trainBanner({
      ...info,
      adminUrl: 'http://10.0.0.5:8700',
      token: 'admintoken',
      trainees: [{ name: 'Ben', device: '00:04:f2:00:00:02', token: 'bentoken' }],
    })
    expect(text).toContain('Console:   http://10.0.0.5:8700/#token=admintoken')
    expect(text).toContain('Ben (00:04:f2:00:00:02): http://10.0.0.5:8700/trainee#token=bentoken')
  })
})
