import type { HttpSlice } from './context.js'
import type { Area } from './events.js'

/**
 * How the HTTP listeners route, as IIS sites do: by path to a double, and by Host to the sites that have it.
 */

/** Which double a path belongs to (paths are case-insensitive, as on IIS). */
export function areaOf(path: string): Area | undefined {
  const p = path.toLowerCase()
  if (p.startsWith('/certsrv')) return 'certsrv'
  if (p.startsWith('/autodiscover/')) return 'autodiscover'
  if (p.startsWith('/ews/')) return 'ews'
  if (p.startsWith('/abs/')) return 'abs'
  if (
    p.startsWith('/requesthandler/') ||
    p.startsWith('/requesthandlerext/') ||
    p.startsWith('/deviceupdatefiles_int/') ||
    p.startsWith('/deviceupdatefiles_ext/')
  )
    return 'dus'
  return undefined
}

/**
 * Whether a Host header names a site that serves an area. A name of a lab host serves what the host's roles
 * say; the Autodiscover names (`<SMTP domain>`, `autodiscover.<SMTP or SIP domain>`) serve Autodiscover as
 * `answerOn` says; an address literal or any other name is served everything (a client that skips DNS).
 */
export function hostServes(area: Area, hostHeader: string, slice: HttpSlice): boolean {
  const host = hostHeader.toLowerCase().replace(/\.$/, '')
  const { site, hosts, block } = slice
  const on = block.autodiscover.answerOn
  const isSmtp = host === site.smtpDomain
  const isAutodiscover =
    host === `autodiscover.${site.smtpDomain}` || host === `autodiscover.${site.sipDomain}`
  const labHost = hosts.find((h) => h.name === host)
  if (!labHost && !isSmtp && !isAutodiscover) return true
  const roles = labHost?.roles ?? []
  switch (area) {
    case 'certsrv':
      return roles.includes('ca')
    case 'ews':
      return roles.includes('exchange')
    case 'dus':
      return roles.includes('dus')
    case 'abs':
      return roles.includes('abs')
    case 'autodiscover':
      return (
        roles.includes('exchange') ||
        (isSmtp && on.includes('smtp-domain')) ||
        (isAutodiscover && on.includes('autodiscover-host'))
      )
  }
}
