import { Type, type Static } from '@sinclair/typebox'
import { StringEnum, serverBlock, MessageTimeoutSchema } from '../../core/schema/common.js'
import type { FaultCapabilities } from '../../core/faults/types.js'

/** The `servers.sip` block of a scenario: the OCS 2007 R2 front end (registrar and in-band provisioning). */
export const SipSchema = serverBlock(
  {
    messageTimeoutMs: MessageTimeoutSchema,
    tcp: Type.Boolean({
      default: false,
      description:
        'Also answer SIP over plain TCP on 5060 (an OCS pool listens for TLS only unless a TCP port is configured; spec §2.6 leaves open whether the phone ever uses it). Handy for SIP tools without TLS.',
    }),
    authentication: StringEnum(['ntlm', 'digest'] as const, {
      default: 'ntlm',
      description:
        'ntlm: MS-SIP NTLM (MS-SIPAE) as OCS 2007 R2 does it, checked against the scenario password. digest: RFC 2617 Digest instead, for generic SIP tools (not what a pool does).',
    }),
    offerKerberos: Type.Boolean({
      default: true,
      description:
        'List Kerberos beside NTLM in the first 401 (OCS 2007 R2 offers both); a Kerberos REGISTER is checked with sip/<pool>’s key. Off: Kerberos is neither offered nor taken.',
    }),
    tls443: Type.Optional(
      Type.Object(
        {
          address: Type.String({
            format: 'ipv4',
            description: 'The address SIP over TLS on 443 listens on (not the address HTTPS has 443 on).',
          }),
        },
        {
          additionalProperties: false,
          description:
            'Also SIP over TLS on 443, as an Edge server answers the phone’s sip/sipexternal:443 attempts (spec §2.6 rows 5, 7, 9). A pool’s own 443 belongs to IIS, so this needs an address of its own.',
        },
      ),
    ),
    signatures: StringEnum(['verify', 'journal'] as const, {
      default: 'verify',
      description:
        'Every request after the NTLM exchange (and, in version 4, the AUTHENTICATE itself) must be signed on the security association (MS-SIPAE); an unsigned one is always challenged. verify (default): a signature that does not verify is challenged too, as OCS does — the lab reproduces OCS 2007 R2’s recorded signatures byte for byte (ADR 0022). journal: it is accepted and the journal says it did not verify, for a client whose signing is under investigation.',
    }),
    challenge: StringEnum(['401', '407'] as const, {
      default: '401',
      description:
        'How the pool challenges a request without credentials: 401 with WWW-Authenticate (MS-SIPAE §4’s examples, the default) or 407 with Proxy-Authenticate (what the recorded Communicator 2007 R2 ↔ OCS 2007 R2 exchange in sipe’s test data implies: the client answered with Proxy-Authorization). ADR 0022.',
    }),
    registerExpires: Type.Integer({
      minimum: 0,
      maximum: 86_400,
      default: 900,
      description: 'The Expires a successful REGISTER is granted (OCS: 900 s, spec §2.7).',
    }),
    emailIn: Type.Array(StringEnum(['roaming-self', 'provisioning'] as const), {
      default: ['roaming-self', 'provisioning'],
      uniqueItems: true,
      description:
        'Where the user’s primary e-mail address (the key to Autodiscover) is delivered: the self contactCard category (spec §10.9’s guess) and/or a provisioning property. Empty: nowhere.',
    }),
    dus: StringEnum(['https', 'http', 'blank'] as const, {
      default: 'https',
      description:
        'The Device Update Service URLs provisioned: https://<pool>/RequestHandler/ucdevice.upx (Lync-era dumps), http://…, or blank (updatesServerEnabled false).',
    }),
    properties: Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]*$' }), Type.String(), {
      default: {},
      description:
        'ServerConfiguration settings added or overridden, by their [MS-SIPREGE] §2.2.2.5.1 names, e.g. { ucPhoneTimeOut: "5", ucMinPinLength: "4" }.',
    }),
  },
  'SIP over TLS on 5061: the OCS 2007 R2 pool — REGISTER with NTLM, in-band provisioning (spec §2.6–2.8).',
)
export type SipConfig = Static<typeof SipSchema>

export const SIP_FAULTS: FaultCapabilities = {
  kinds: ['drop', 'delay', 'reset', 'garbage', 'corrupt', 'truncate', 'error', 'answer'],
  errorCodes: ['400', '403', '404', '480', '486', '488', '500', '503', '504'],
  answerFields: {
    status: StringEnum(['403', '480', '486', '500', '503', '504'] as const, {
      hint: 'answer with this status (with retryAfter: and a Retry-After header)',
    }),
    retryAfter: Type.Integer({
      minimum: 0,
      maximum: 86_400,
      hint: 'seconds, sent as Retry-After with status',
    }),
    signature: StringEnum(['wrong', 'missing'] as const, {
      hint: 'sign the answer with a wrong rspauth, or send it without Authentication-Info (a phone must refuse the first and ignore the second)',
    }),
    provisioning: StringEnum(['empty', 'no-dus', 'no-email'] as const, {
      hint: 'empty: a provisioning answer with no groups; no-dus: without the update URLs; no-email: without the e-mail',
    }),
  },
  matchFields: ['method', 'event', 'user', 'stage'],
}
