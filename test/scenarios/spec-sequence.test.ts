import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../lab/paths.js'
import { observeOnLab } from '../../cli/observe.js'
import type { JournalEvent } from '../../core/journal/journal.js'
import { startTestLab } from '../helpers/lab.js'

/*
 * A healthy boot's requests held to the spec's step list (docs: ../shared/reference/cx700-behaviour.md §1, §9
 * and the guide's trace in §2.9), names and order (issue 35). Every request the servers saw of the phone is one
 * of the spec's steps, or a lookup one of them implies (the A record of a host an answer named); the steps
 * come in the spec's order. A departure — a request the spec does not have, or one out of its place — fails.
 */

interface Step {
  /** The spec's section and words. */
  readonly spec: string
  readonly server: string
  readonly match: RegExp
  /** The nth request that matches (default the first). */
  readonly nth?: number
}

/** The spec's steps of a factory-fresh phone's first boot and sign-in, in order. */
const STEPS: readonly Step[] = [
  { spec: '§2.1 DHCP DISCOVER', server: 'dhcp', match: /^DISCOVER from 00:04:f2:00:00:01/ },
  { spec: '§2.1 DHCP REQUEST', server: 'dhcp', match: /^REQUEST from 00:04:f2:00:00:01/ },
  {
    spec: '§6.1 A ucupdates-r2.<DHCP domain> (never signed in)',
    server: 'dns',
    match: /^ucupdates-r2\.corp\.contoso\.test A /,
  },
  {
    spec: '§6.2 POST ucdevice.upx (never signed in)',
    server: 'http',
    match: /^POST \/RequestHandler\/ucdevice\.upx \(10\.50\.0\.1\)/,
  },
  {
    spec: '§6.3 GET CPE.nbt (newer than installed)',
    server: 'http',
    match: /^GET \/DeviceUpdateFiles_Int\/.*\/CPE\/CPE\.nbt /,
  },
  {
    spec: '§6.3 GET CPE.cat (the signature catalog)',
    server: 'http',
    match: /^GET \/DeviceUpdateFiles_Int\/.*\/CPE\/CPE\.cat /,
  },
  {
    spec: '§6.3 installed while idle: the restart’s DHCP DISCOVER',
    server: 'dhcp',
    match: /^DISCOVER from 00:04:f2:00:00:01/,
    nth: 2,
  },
  {
    spec: '§6.2 POST ucdevice.upx on the new build: nothing newer',
    server: 'http',
    match: /^POST \/RequestHandler\/ucdevice\.upx \(10\.50\.0\.1\) .*→ 200 current: 3\.5\.6907\.35/,
  },
  { spec: '§2.3 SRV _ntp._udp.<SIP domain>', server: 'dns', match: /^_ntp\._udp\.contoso\.test SRV / },
  { spec: '§2.3 NTP request', server: 'ntp', match: /^NTPv3 mode 3 request/ },
  {
    spec: '§2.4 SRV _ldap._tcp.dc._msdcs.<candidate> (suffix walk)',
    server: 'dns',
    match: /^_ldap\._tcp\.dc\._msdcs\.corp SRV /,
  },
  {
    spec: '§2.5 LDAP (objectCategory=certificationAuthority)',
    server: 'ldap',
    match: /\(objectCategory=certificationAuthority\) \[cACertificate\]/,
  },
  {
    spec: '§2.6 SRV _sipinternaltls._tcp.<SIP domain>',
    server: 'dns',
    match: /^_sipinternaltls\._tcp\.contoso\.test SRV /,
  },
  { spec: '§2.7 REGISTER (challenged)', server: 'sip', match: /^REGISTER alice@contoso\.test → 401/ },
  { spec: '§2.7 REGISTER → 200', server: 'sip', match: /^REGISTER alice@contoso\.test → 200 REGISTER/ },
  {
    spec: '§2.8 SUBSCRIBE vnd-microsoft-provisioning-v2',
    server: 'sip',
    match: /^SUBSCRIBE \(vnd-microsoft-provisioning-v2\)/,
  },
  { spec: '§2.9 step 22: A autodiscover.<domain>', server: 'dns', match: /^autodiscover\.contoso\.test A / },
  {
    spec: '§2.9 step 23 / §3.2: POST Autodiscover',
    server: 'http',
    match: /^POST \/autodiscover\/autodiscover\.xml \(autodiscover\.contoso\.test\)/,
  },
  { spec: '§4.1 EWS FindItem', server: 'http', match: /^POST \/EWS\/Exchange\.asmx \(mail\.contoso\.test\)/ },
  {
    spec: '§4.2 step 2: GetItem, the newest voice mail',
    server: 'http',
    match: /^POST \/EWS\/Exchange\.asmx \(mail\.contoso\.test\) GetItem → 200/,
  },
  {
    spec: '§4.2 step 3: GetAttachment, its audio',
    server: 'http',
    match: /^POST \/EWS\/Exchange\.asmx \(mail\.contoso\.test\) GetAttachment → 200/,
  },
  {
    spec: '§2.9 step 24: POST ucdevice.upx (provisioned URL)',
    server: 'http',
    match: /^POST \/RequestHandler\/ucdevice\.upx \(ocspool\.contoso\.test\)/,
  },
  {
    spec: '§1 step 9 / §4.3: the address book from the provisioned URL',
    server: 'http',
    match: /^GET \/abs\/int\/handler\/\S+\.dabs \(ocspool\.contoso\.test\) address book → 200/,
  },
]

/** Requests the steps imply, anywhere: each with the spec's reason. */
const IMPLIED: readonly Step[] = [
  {
    spec: '§10.13 the KDC by its SRV record (GUESS 13)',
    server: 'dns',
    match: /^_kerberos\._tcp\.dc\._msdcs\.corp\.contoso\.test SRV /,
  },
  {
    spec: '§2.2 A of a host an SRV answer or a URL named',
    server: 'dns',
    match: /^(time|dc1\.corp|ocspool|mail)\.contoso\.test A |^dc1\.corp\.contoso\.test A /,
  },
  {
    spec: '§2.4 the suffix walk’s candidates',
    server: 'dns',
    match: /^_ldap\._tcp\.dc\._msdcs\.corp\.\S+ SRV /,
  },
  { spec: '§2.5 RootDSE → configuration NC (GUESS 11)', server: 'ldap', match: /^#\d+ search "" base/ },
  {
    spec: '§2.5 bind as the user, SASL GSS-SPNEGO with Kerberos (GUESS 11)',
    server: 'ldap',
    match: /^#\d+ SASL bind GSS-SPNEGO → success/,
  },
  {
    spec: '§10.11 a ticket for ldap/<DC> from the TGT (GUESS 11)',
    server: 'kerberos',
    match: /^TGS-REQ (alice@CORP\.CONTOSO\.TEST )?for ldap\/dc1\.corp\.contoso\.test /,
  },
  { spec: '§2.5 the end of the LDAP session', server: 'ldap', match: /^#\d+ unbind/ },
  {
    spec: '§10.13 the user’s logon at the DC’s KDC (GUESS)',
    server: 'kerberos',
    match: /^AS-REQ alice@CORP\.CONTOSO\.TEST /,
  },
  {
    spec: '§2.8 the e-mail from roaming-self (GUESS 9)',
    server: 'sip',
    match: /^SUBSCRIBE \(vnd-microsoft-roaming-self\)/,
  },
  {
    spec: '§3.1 / §4 / §4.3: the NTLM legs of Autodiscover, EWS and the address book (GUESS 6)',
    server: 'http',
    match: /^(POST \/(autodiscover\/autodiscover\.xml|EWS\/Exchange\.asmx)|GET \/abs\/\S+) \(\S+\) → 401/,
  },
]

const REQUESTS = new Set([
  'dhcp:request',
  'dns:query',
  'ntp:request',
  'kerberos:request',
  'sip:request',
  'http:request',
])
const isRequest = (e: JournalEvent): boolean =>
  REQUESTS.has(e.kind) || (e.server === 'ldap' && e.kind.startsWith('ldap:'))
const fits = (e: JournalEvent, s: Step): boolean => e.server === s.server && s.match.test(e.summary)

describe('a healthy boot, request by request, against the spec’s step list', () => {
  it('asks what the spec says, in its order, and nothing it does not', async () => {
    await using t = await startTestLab(undefined, { file: join(packageRoot(), 'scenarios', 'default.yaml') })
    const { outcome, events } = await observeOnLab(t.lab)
    expect(outcome.endState).toBe('signed-in')
    const requests = events.filter(isRequest)
    const unexplained = requests
      .filter((e) => !STEPS.some((s) => fits(e, s)) && !IMPLIED.some((s) => fits(e, s)))
      .map((e) => `${e.server} ${e.summary}`)
    expect(unexplained, 'requests the spec does not have').toEqual([])
    // Each step's first request, in the order the phone made them.
    const nth = (s: Step): number => {
      const at = requests.flatMap((e, i) => (fits(e, s) ? [i] : []))
      return at[(s.nth ?? 1) - 1] ?? -1
    }
    const seen = STEPS.map((s) => ({ spec: s.spec, at: nth(s) }))
    expect(
      seen.filter((s) => s.at < 0).map((s) => s.spec),
      'steps the phone left out',
    ).toEqual([])
    expect(
      [...seen].sort((a, b) => a.at - b.at).map((s) => s.spec),
      'the steps in the order the phone took them',
    ).toEqual(STEPS.map((s) => s.spec))
  })
})
