import { Type, type Static } from '@sinclair/typebox'
import { StringEnum, serverBlock } from '../../core/schema/common.js'
import type { FaultCapabilities } from '../../core/faults/types.js'
import { KrbErrorCode } from '../../core/auth/krb5/messages.js'

/** The encryption types the lab can offer, by their RFC 3961/4757 names. */
export const KERBEROS_ETYPES = ['aes256-cts-hmac-sha1-96', 'aes128-cts-hmac-sha1-96', 'rc4-hmac'] as const
export const ETYPE_NUMBERS: Readonly<Record<(typeof KERBEROS_ETYPES)[number], number>> = {
  'aes256-cts-hmac-sha1-96': 18,
  'aes128-cts-hmac-sha1-96': 17,
  'rc4-hmac': 23,
}

/** The `servers.kerberos` block of a scenario: the domain controller's KDC. */
export const KerberosSchema = serverBlock(
  {
    etypes: Type.Array(StringEnum(KERBEROS_ETYPES), {
      minItems: 1,
      uniqueItems: true,
      default: [...KERBEROS_ETYPES],
      description:
        'What the KDC offers, strongest first. Default: a Windows Server 2008 DC’s (AES256, AES128, RC4-HMAC). A Windows CE-era client may know RC4-HMAC only; [aes256-cts-hmac-sha1-96] alone tells KDC_ERR_ETYPE_NOSUPP to such a client.',
    }),
    maxSkew: Type.String({
      default: '5m',
      pattern: '^\\d+[smh]$',
      description: 'Kerberos policy: the clock skew tolerated (AD’s default, 5 minutes).',
    }),
    ticketLifetime: Type.String({
      default: '10h',
      pattern: '^\\d+[smh]$',
      description: 'Kerberos policy: the maximum service and user ticket lifetime (AD’s default, 10 hours).',
    }),
    udpReplyLimit: Type.Integer({
      minimum: 512,
      maximum: 65_000,
      default: 1_465,
      description:
        'A UDP reply larger than this is KRB_ERR_RESPONSE_TOO_BIG, so the client retries over TCP (Windows’ MaxDatagramReplySize, 1,465 octets).',
    }),
  },
  'The KDC of Active Directory (Kerberos V5, RFC 4120; UDP and TCP 88): AS with PA-ENC-TIMESTAMP, TGS, AD’s errors (spec §2.5, F6, F9).',
)
export type KerberosBlock = Static<typeof KerberosSchema>

export const KERBEROS_FAULTS: FaultCapabilities = {
  kinds: ['drop', 'delay', 'reset', 'garbage', 'corrupt', 'truncate', 'error'],
  errorCodes: Object.keys(KrbErrorCode),
  answerFields: {},
  // principal: "alice@CORP.CONTOSO.TEST"; service: "krbtgt/CORP.CONTOSO.TEST", "http/dc1.corp.contoso.test"; msg: AS, TGS.
  matchFields: ['principal', 'service', 'msg'],
}
