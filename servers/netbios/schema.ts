import { Type, type Static } from '@sinclair/typebox'
import { serverBlock } from '../../core/schema/common.js'
import type { FaultCapabilities } from '../../core/faults/types.js'

/** The RCODEs a fault may answer with (RFC 1002 §4.2.6): the name is unknown, the server failed or refuses. */
export const NBNS_ERROR_CODES = ['NAM_ERR', 'SRV_ERR', 'RFS_ERR', 'IMP_ERR', 'FMT_ERR'] as const

/** The `servers.netbios` block of a scenario: a WINS server (NetBIOS name service, RFC 1001/1002). */
export const NetbiosSchema = serverBlock(
  {
    // Off unless a story asks for it: a site has WINS only if someone set it up, and port 137 is often taken
    // by Samba's nmbd on the lab's own machine.
    enabled: Type.Boolean({
      default: false,
      description:
        'Run the WINS double (UDP 137; loopback 10137). Offer it to phones with servers.dhcp.wins (option 44).',
    }),
    ttlSeconds: Type.Integer({
      minimum: 60,
      maximum: 4_294_967,
      default: 518_400,
      description:
        'The TTL of positive answers and granted registrations: WINS’s default renewal interval, 6 days.',
    }),
    registrations: Type.Boolean({
      default: true,
      description:
        'Accept name registrations (a Windows CE device registers its own names): granted, journaled, and then answered to queries.',
    }),
  },
  'WINS / NetBIOS name service: a phone offered WINS by DHCP finds the DC for DOMAIN\\user by the domain’s <1C> name first (spec §2.4, F3).',
)
export type NetbiosBlock = Static<typeof NetbiosSchema>

export const NETBIOS_FAULTS: FaultCapabilities = {
  kinds: ['drop', 'delay', 'garbage', 'corrupt', 'truncate', 'error'],
  errorCodes: NBNS_ERROR_CODES,
  answerFields: {},
  // name: "CORP<1C>" as nbtstat writes it; opcode: query, registration, release, refresh.
  matchFields: ['name', 'opcode'],
}
