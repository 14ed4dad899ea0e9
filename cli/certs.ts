import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  certificateDer,
  certificatePem,
  ensureAuthority,
  resetPki,
  signatureHash,
  storedAuthorities,
  thumbprint,
} from '../certs/index.js'
import { defaultStateDir } from '../lab/paths.js'
import { parse, table, usage } from './args.js'

export const CERTS_HELP = `Usage: cx700-lab certs show|export|reset [options]

The lab CA lives in the state directory and is reused on every start: a phone that installed the lab root
keeps trusting the lab. Private keys never leave the state directory.

  certs show                  every CA the lab has made (each hash/key-size variant is a CA of its own)
  certs export [DIR]          the lab roots: PEM on stdout, or one file per root in DIR
        --der                 DIR gets .cer files (DER), as Windows and certutil -dspublish take them
  certs reset                 forget every CA and key; the next start makes new ones. Every phone that
                              installed the old root must then be hard-reset (spec F28).

Options: --state DIR (default ${defaultStateDir()})
`

export async function certs(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    state: { type: 'string' },
    der: { type: 'boolean' },
    pem: { type: 'boolean' },
  })
  if (values.help) {
    process.stdout.write(CERTS_HELP)
    return 0
  }
  const stateDir = values.state ?? defaultStateDir()
  const [verb, dir] = positionals
  switch (verb) {
    case 'show': {
      const cas = storedAuthorities(stateDir)
      if (cas.length === 0) {
        process.stdout.write(
          `no lab CA in ${stateDir} yet: the lab makes one when it first starts (or run "certs export").\n`,
        )
        return 0
      }
      const rows = [['CA', 'SUBJECT', 'SHA-1 THUMBPRINT', 'SIGNATURE', 'VALID UNTIL']]
      for (const ca of cas)
        rows.push([
          ca.name,
          ca.certificate.subject,
          await thumbprint(ca.certificate),
          signatureHash(ca.certificate),
          ca.certificate.notAfter.toISOString().slice(0, 10),
        ])
      process.stdout.write(`${table(rows)}\n`)
      return 0
    }
    case 'export': {
      if (values.der && values.pem) throw usage('certs export takes --der or --pem, not both.')
      let roots = storedAuthorities(stateDir).filter((ca) => ca.name.startsWith('root-'))
      if (roots.length === 0) {
        const made = await ensureAuthority(stateDir, 'root', 'sha1', 2048, Date.now())
        roots = [{ name: 'root-sha1-2048', dir: '', certificate: made.certificate }]
      }
      if (dir === undefined) {
        if (values.der) throw usage('certs export --der needs a DIR (DER is binary).')
        process.stdout.write(roots.map((r) => certificatePem(r.certificate)).join(''))
        return 0
      }
      mkdirSync(dir, { recursive: true })
      for (const r of roots) {
        const file = join(dir, `cx700-lab-${r.name}.${values.der ? 'cer' : 'pem'}`)
        writeFileSync(file, values.der ? certificateDer(r.certificate) : certificatePem(r.certificate))
        process.stdout.write(`${file}\n`)
      }
      return 0
    }
    case 'reset': {
      process.stderr.write(
        'cx700-lab: WARNING: forgetting the lab CA. Every phone that installed its root must be hard-reset before it trusts the lab again.\n',
      )
      const had = resetPki(stateDir)
      process.stdout.write(
        had ? `removed the lab PKI in ${stateDir}\n` : `there was no lab PKI in ${stateDir}\n`,
      )
      return 0
    }
    case undefined:
    default:
      throw usage(`certs needs show, export or reset.\n\n${CERTS_HELP}`)
  }
}
