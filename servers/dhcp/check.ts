import { NOTHING_WORD, meansNothing } from '../../core/schema/common.js'
import type { SchemaProblem } from '../../core/schema/problems.js'

/** A word for nothing as option 15 would be sent as the domain name itself: say how to leave it out. */
export function checkDhcp(block: Readonly<Record<string, unknown>>): SchemaProblem[] {
  const domain = block.domainName
  return typeof domain === 'string' && meansNothing(domain)
    ? [
        {
          pointer: '/servers/dhcp/domainName',
          message: NOTHING_WORD(domain, 'to send no option 15 write ""'),
        },
      ]
    : []
}
