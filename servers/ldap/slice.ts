import type { LabPki } from '../../certs/pki.js'
import { certificateDer } from '../../certs/export.js'
import type { Host, Site, User } from '../../core/site.js'
import { buildDirectory, type Directory } from './directory.js'
import type { LdapConfig } from './schema.js'

/** What the LDAP server gets of a scenario. */
export interface LdapSlice {
  readonly block: LdapConfig
  readonly site: Site
  readonly hosts: readonly Host[]
  readonly users: readonly User[]
}

/** Where the scenario's Exchange server publishes Autodiscover (its standard HTTPS URL, as setup writes it). */
function scpOf(hosts: readonly Host[], site: Site): { server: string; url: string } {
  const server = hosts.find((h) => h.roles.includes('exchange'))?.name ?? `mail.${site.smtpDomain}`
  return { server, url: `https://${server}/autodiscover/autodiscover.xml` }
}

/** The directory a slice's DC serves, with the lab PKI's root (and issuing CA) published as the block says. */
export function directoryOf(config: LdapSlice, pki: LabPki): Directory {
  const root = Buffer.from(certificateDer(pki.root.certificate))
  const issuing = pki.intermediate ? Buffer.from(certificateDer(pki.intermediate.certificate)) : root
  const { block, site, hosts, users } = config
  return buildDirectory({
    site,
    hosts,
    users,
    pki: { root, issuing, caObjects: block.caObjects, enrollmentService: block.enrollmentService },
    ...(block.autodiscoverScp ? { autodiscoverScp: scpOf(hosts, site) } : {}),
  })
}
