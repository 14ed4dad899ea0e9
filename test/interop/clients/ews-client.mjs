// A real EWS client (ews-javascript-api, with @ewsjs/xhr for NTLM) against the lab, run as its own process
// so that NODE_EXTRA_CA_CERTS — read by Node at start-up only — makes the lab root trusted, as it would be
// on a machine of the QA team. Prints one JSON document of what the library saw, or exits 1 with the error.
//
// usage: LAB_RESOLVE=name,name… node ews-client.mjs <autodiscover.svc URL> <e-mail> <user> <password> <basic|ntlm>
// LAB_RESOLVE names resolve to 127.0.0.1 (what curl's --resolve does), so the URLs the lab hands out are
// followed as they are.
import dns from 'node:dns'
import { inspect } from 'node:util'
import ews from 'ews-javascript-api'
import { XhrApi } from '@ewsjs/xhr'

const resolved = new Set((process.env.LAB_RESOLVE ?? '').split(',').filter(Boolean))
const systemLookup = dns.lookup
dns.lookup = (host, options, callback) => {
  const cb = typeof options === 'function' ? options : callback
  const opts = typeof options === 'function' ? {} : (options ?? {})
  if (!resolved.has(host)) return systemLookup(host, opts, cb)
  if (opts.all) return cb(null, [{ address: '127.0.0.1', family: 4 }])
  return cb(null, '127.0.0.1', 4)
}

const {
  AutodiscoverService,
  ConfigurationApi,
  ExchangeService,
  ExchangeVersion,
  Item,
  ItemView,
  PropertySet,
  BasePropertySet,
  Uri,
  UserSettingName,
  WebCredentials,
  WellKnownFolderName,
  SearchFilter,
  ItemSchema,
  EmailMessageSchema,
  PhoneNumberKey,
} = ews

const [url, email, user, password, auth] = process.argv.slice(2)
if (auth === 'ntlm') ConfigurationApi.ConfigureXHR(new XhrApi().useNtlmAuthentication(user, password))

try {
  const autodiscover = new AutodiscoverService(new Uri(url), ExchangeVersion.Exchange2010)
  autodiscover.Credentials = new WebCredentials(user, password)
  const settings = await autodiscover.GetUserSettings(email, [
    UserSettingName.InternalEwsUrl,
    UserSettingName.UserDisplayName,
  ])
  const ewsUrl = settings.Settings.get(UserSettingName.InternalEwsUrl)
  const displayName = settings.Settings.get(UserSettingName.UserDisplayName)

  const service = new ExchangeService(ExchangeVersion.Exchange2007_SP1)
  service.Credentials = new WebCredentials(user, password)
  service.Url = new Uri(ewsUrl)

  const found = await service.FindItems(WellKnownFolderName.VoiceMail, new ItemView(10))
  const voicemail = []
  for (const item of found.Items) {
    const full = await Item.Bind(service, item.Id, new PropertySet(BasePropertySet.FirstClassProperties))
    const attachment = full.Attachments.Count > 0 ? full.Attachments._getItem(0) : undefined
    if (attachment) await attachment.Load()
    const audio = attachment ? Buffer.from(attachment.Base64Content, 'base64') : Buffer.alloc(0)
    voicemail.push({
      subject: full.Subject,
      itemClass: full.ItemClass,
      body: full.Body?.Text,
      attachment: attachment?.Name,
      audioHead: audio.toString('latin1', 0, 4) + audio.toString('latin1', 8, 12),
      audioBytes: audio.length,
    })
  }

  const missed = await service.FindItems(
    WellKnownFolderName.Inbox,
    new SearchFilter.IsEqualTo(ItemSchema.ItemClass, 'IPM.Note.Microsoft.Missed.Voice'),
    new ItemView(10),
  )
  const contacts = await service.FindItems(WellKnownFolderName.Contacts, new ItemView(50))

  console.log(
    JSON.stringify({
      ewsUrl,
      displayName,
      voicemail,
      missedCalls: missed.Items.map((m) => ({
        subject: m.Subject,
        read: m.propertyBag.Contains(EmailMessageSchema.IsRead) ? m.IsRead : null,
      })),
      contacts: contacts.Items.map((c) => ({
        name: c.DisplayName,
        phone: c.PhoneNumbers.TryGetValue(PhoneNumberKey.BusinessPhone, { outValue: null })
          ? c.PhoneNumbers._getItem(PhoneNumberKey.BusinessPhone)
          : null,
      })),
    }),
  )
} catch (err) {
  console.error(inspect(err, { depth: 4 }))
  process.exit(1)
}
