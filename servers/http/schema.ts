import { Type, type Static } from '@sinclair/typebox'
import { StringEnum, serverBlock } from '../../lab/scenario/common.js'
import type { FaultCapabilities } from '../../lab/faults/types.js'

/** The `servers.http` block of a scenario (HTTP 80 and HTTPS 443; Autodiscover and EWS are still to come). */
export const HttpSchema = serverBlock(
  {
    legacyTls: Type.Boolean({
      default: true,
      description:
        'HTTPS accepts TLS 1.0 and old ciphers at OpenSSL security level 0, as a Windows CE 6 client (the CX700) needs; false: Node’s defaults (TLS 1.2+).',
    }),
    certsrv: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'AD CS web enrollment at /certsrv on the CA host.',
        }),
        armor: StringEnum(['certificate', 'pkcs7', 'none'] as const, {
          default: 'certificate',
          description:
            'The armor around the base64 PKCS#7 of certnew.p7b?Enc=b64: "BEGIN CERTIFICATE" as reported of AD CS (spec §2.5, GUESS), "BEGIN PKCS7" as OpenSSL writes it, or none.',
        }),
        lineEnding: StringEnum(['crlf', 'lf'] as const, { default: 'crlf' }),
        authentication: Type.Boolean({
          default: true,
          description: 'Ask for credentials (401 Negotiate, NTLM) as IIS does.',
        }),
        kerberos: StringEnum(['retry', 'refuse'] as const, {
          default: 'retry',
          description:
            'A Kerberos token the lab cannot verify: refused once per connection, then accepted (the guide’s trace: first attempt fails, retry succeeds), or always refused.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  'HTTP on port 80: AD CS /certsrv, where the phone downloads the CA chain (spec §2.5, F8, F9).',
)
export type HttpConfig = Static<typeof HttpSchema>

export const HTTP_FAULTS: FaultCapabilities = {
  kinds: ['drop', 'delay', 'reset', 'garbage', 'corrupt', 'truncate', 'error', 'answer'],
  errorCodes: ['400', '401', '403', '404', '500', '503'],
  answerFields: {
    encoding: StringEnum(['b64', 'bin'] as const, {
      hint: 'b64 or bin: the encoding sent whatever was asked',
    }),
    chain: StringEnum(['lab', 'untrusted'] as const, {
      hint: 'untrusted: a chain from a CA published nowhere',
    }),
    dribbleMs: Type.Integer({
      minimum: 1,
      maximum: 60_000,
      hint: 'milliseconds between 16-octet pieces of the body',
    }),
  },
  matchFields: ['method', 'path', 'host', 'user'],
}
