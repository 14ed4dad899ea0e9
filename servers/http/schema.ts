import { Type, type Static } from '@sinclair/typebox'
import { StringEnum, serverBlock } from '../../core/schema/common.js'
import type { FaultCapabilities } from '../../core/faults/types.js'

/** The `servers.http` block of a scenario: HTTP 80 and HTTPS 443 with /certsrv, Autodiscover and EWS. */
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
        kerberos: StringEnum(['retry', 'accept', 'refuse'] as const, {
          default: 'retry',
          description:
            'A good Kerberos ticket (checked with HTTP/<CA host>’s key): refused once per connection, then accepted (the guide’s trace: the first attempt fails, the retry succeeds), accepted at once, or always refused.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    autodiscover: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'Exchange 2007 Autodiscover (POX, and SOAP GetUserSettings) on the Exchange names.',
        }),
        answerOn: Type.Array(StringEnum(['smtp-domain', 'autodiscover-host'] as const), {
          default: ['smtp-domain', 'autodiscover-host'],
          uniqueItems: true,
          description:
            'Which names answer Autodiscover besides the Exchange server: https://<SMTP domain>/ and https://autodiscover.<SMTP or SIP domain>/ (spec §3.1: which the phone tries is a GUESS; only autodiscover.<domain> is proven).',
        }),
        httpRedirect: Type.Boolean({
          default: true,
          description:
            'GET http://autodiscover.<domain>/autodiscover/autodiscover.xml answers 302 to the HTTPS URL (MS-OXDISCO’s redirect step).',
        }),
        authentication: Type.Boolean({
          default: true,
          description: 'Ask for credentials (401 Negotiate, NTLM, Basic) as Exchange does.',
        }),
        kerberos: StringEnum(['retry', 'accept', 'refuse'] as const, { default: 'accept' }),
        soap: Type.Boolean({
          default: true,
          description:
            'Also the SOAP service (/autodiscover/autodiscover.svc) and the X-SOAP-Enabled header current EWS clients look for.',
        }),
        protocols: Type.Array(StringEnum(['EXCH', 'EXPR', 'WEB'] as const), {
          default: ['EXCH', 'EXPR', 'WEB'],
          uniqueItems: true,
          description:
            'The Protocol blocks of a POX answer, in order (spec §3.3: the phone prefers EXCH, GUESS).',
        }),
        ewsUrlElements: Type.Array(StringEnum(['ASUrl', 'EwsUrl'] as const), {
          default: ['ASUrl', 'EwsUrl'],
          uniqueItems: true,
          description:
            'Which elements carry the EWS URL (spec §3.3/§10.4: which one the phone reads is unknown, so both by default).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    ews: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'Exchange Web Services (2007 SP1) at /EWS/Exchange.asmx on the Exchange server.',
        }),
        scheme: StringEnum(['https', 'http'] as const, {
          default: 'https',
          description:
            'How Autodiscover hands out the EWS URL, and how EWS is served: over HTTPS (Exchange’s default), or over plain HTTP as a site that turned SSL off for EWS does (the guide: "HTTP or HTTPS", spec §3.1).',
        }),
        authentication: Type.Boolean({
          default: true,
          description: 'Ask for credentials; without, a request with none reads the first user’s mailbox.',
        }),
        kerberos: StringEnum(['retry', 'accept', 'refuse'] as const, { default: 'accept' }),
      },
      { additionalProperties: false, default: {} },
    ),
    dus: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            'The Device Update Service: POST /RequestHandler/ucdevice.upx (80 and 443), /RequestHandlerExt/ucdevice.upx (443), and the update files (spec §6).',
        }),
        approved: Type.String({
          pattern: '^\\d+(\\.\\d+){1,3}$',
          default: '3.5.6907.35',
          description:
            'The version the administrator approved: every device running an older one is offered it (spec §6.2). The two-step upgrade of §6.4 is two approvals: 1.0.522.101 for the R1 phones, then 3.5.6907.35.',
        }),
        pending: Type.Array(Type.String(), {
          default: [],
          description:
            'Versions uploaded but not approved: the newest is offered only to testDevices, when newer than the approved one (F21).',
        }),
        testDevices: Type.Array(Type.String({ pattern: '^([0-9A-Fa-f]{2}[:-]?){5}[0-9A-Fa-f]{2}$' }), {
          default: [],
          description: 'MAC addresses of test devices, which are offered pending versions.',
        }),
        downloadUrls: StringEnum(['set', 'blank'] as const, {
          default: 'set',
          description:
            'blank: BaseURL and ExternalBaseURL empty, as when the DUS WMI settings are unset (F19).',
        }),
        mimeTypes: Type.Boolean({
          default: true,
          description:
            'false: IIS without the .nbt/.cat MIME map — the upx request works, the file GET is 404 (F20).',
        }),
        files: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'A folder (relative to the scenario file) with <version>/CPE.nbt, CPE.cat, CPE.xml; without it the lab serves marked stand-in files.',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    abs: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            'The pool’s Address Book Server: the device address-book files the phone downloads every 24 h from the provisioned absInternalServerUrl (spec §4.3, §5), at /abs/int/handler and /abs/ext/handler.',
        }),
        authentication: Type.Boolean({
          default: true,
          description: 'Ask for credentials (401 Negotiate, NTLM) as the IIS virtual directory does.',
        }),
        kerberos: StringEnum(['retry', 'accept', 'refuse'] as const, { default: 'accept' }),
        runTime: Type.String({
          pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
          default: '01:30',
          description:
            'When ABServer’s daily pass writes the new full file (lab time, UTC): a user added to the scenario is in the files from the next pass on (F27).',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  'HTTP (80) and HTTPS (443): AD CS /certsrv, where the phone downloads the CA chain (spec §2.5, F8, F9); Exchange Autodiscover (§3) and EWS (§4); the Device Update Service (§6).',
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
    xml: StringEnum(['malformed'] as const, {
      hint: 'malformed: an Autodiscover or EWS answer that is not well-formed XML',
    }),
    redirect: StringEnum(['loop'] as const, {
      hint: 'loop: Autodiscover answers 302 to the other Autodiscover name, for ever',
    }),
    protocols: StringEnum(['none'] as const, {
      hint: 'none: an Autodiscover answer without a Protocol block',
    }),
    responseCode: Type.String({
      pattern: '^Error[A-Za-z]+$',
      hint: 'an EWS response code every EWS answer fails with, e.g. ErrorServerBusy',
    }),
    dribbleMs: Type.Integer({
      minimum: 1,
      maximum: 60_000,
      hint: 'milliseconds between 16-octet pieces of the body',
    }),
  },
  matchFields: ['method', 'path', 'host', 'user', 'operation'],
}

/*
 * Exchange's part of each user: the mailbox the EWS double serves (contacts, voice mail, missed calls),
 * written under each user of a scenario (`users[].mailbox`) and added to the user's schema by the HTTP
 * server's definition (`userFields`).
 */
const ContactSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    phone: Type.Optional(Type.String()),
    email: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)
const IsoTime = (): ReturnType<typeof Type.String> =>
  Type.String({
    format: 'date-time',
    description: 'When it arrived (ISO 8601); defaults to hours before the lab started, newest first.',
    hint: 'an ISO 8601 time such as 2026-11-25T09:30:00Z',
  })
const VoicemailSchema = Type.Object(
  {
    from: Type.String({ minLength: 1, description: 'The caller’s name.' }),
    phone: Type.Optional(Type.String({ description: 'The caller’s number (caller ID).' })),
    subject: Type.Optional(Type.String()),
    durationSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
    unread: Type.Boolean({ default: true }),
    at: Type.Optional(IsoTime()),
    audio: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A WAV file (relative to the scenario file) served as the message’s audio attachment; without it the lab generates a tone of durationSeconds.',
      }),
    ),
  },
  { additionalProperties: false },
)
const MissedCallSchema = Type.Object(
  {
    from: Type.String({ minLength: 1 }),
    phone: Type.Optional(Type.String({ description: 'The caller’s number (caller ID).' })),
    at: Type.Optional(IsoTime()),
    unread: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
)

const AppointmentSchema = Type.Object(
  {
    subject: Type.String({ minLength: 1 }),
    start: Type.String({
      format: 'date-time',
      description: 'When it starts (ISO 8601).',
      hint: 'an ISO 8601 time such as 2026-11-25T09:30:00Z',
    }),
    durationMinutes: Type.Integer({ minimum: 0, maximum: 14 * 24 * 60, default: 30 }),
    location: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

const MailboxSchema = Type.Object(
  {
    contacts: Type.Array(ContactSchema, { default: [] }),
    calendar: Type.Array(AppointmentSchema, {
      default: [],
      description: 'Meetings in the Calendar folder (what a calendar view over EWS finds).',
    }),
    voicemail: Type.Array(VoicemailSchema, { default: [] }),
    missedCalls: Type.Array(MissedCallSchema, { default: [] }),
  },
  { additionalProperties: false, default: {} },
)
export type MailboxDocument = Static<typeof MailboxSchema>

/** What the HTTP server adds to each user of a scenario. */
export const HTTP_USER_FIELDS = { mailbox: MailboxSchema }

declare module '../../core/site.js' {
  interface UserFields {
    /** The user's Exchange mailbox as the scenario writes it (every default filled in). */
    readonly mailbox: MailboxDocument
  }
}
