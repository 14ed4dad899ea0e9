import { LabDecodeError } from '../../core/errors.js'
import { children, parseXml, path } from '../../core/xml.js'
import type { PhoneContext, PhoneNetwork } from '../context.js'
import { PhoneHttp } from '../http.js'
import { connect } from './connect.js'
import {
  MISSED_CALLS,
  findItemRequest,
  firstAttachmentId,
  foundItems,
  getAttachmentRequest,
  getItemRequest,
  outlookRequest,
} from '../requests.js'
import { usesExchange, type Provisioned } from './provisioning.js'

type Way = PhoneContext['guesses']['autodiscover'][number]

/** For the http-redirect way: GET on port 80 and follow the 302 to its HTTPS host. */
async function redirected(
  ctx: PhoneContext,
  network: PhoneNetwork,
  address: string,
  host: string,
): Promise<{ to: { host: string; port: number } | undefined; name: string } | undefined> {
  const to = ctx.net.target(address, 80, 'tcp')
  const plain = to
    ? await PhoneHttp.open(to.host, to.port, ctx.timeoutMs, ctx.net.localAddress)
    : 'unreachable'
  if (typeof plain === 'string') return undefined
  const r = await plain.request('GET', '/autodiscover/autodiscover.xml', host, {}, '', ctx.timeoutMs)
  plain.close()
  const location = r?.status === 302 ? r.headers.get('location')?.[0] : undefined
  if (!location) {
    ctx.step('autodiscover', false, `http://${host}: ${r?.status ?? 'no answer'}, no redirect`)
    return undefined
  }
  const l = new URL(location)
  const la = await network.dns.address(l.hostname)
  return { to: la ? ctx.net.target(la, 443, 'tcp') : undefined, name: l.hostname }
}

/** The EWS URL an Autodiscover answer gives (EXCH, else EXPR; EwsUrl or ASUrl by guess). */
function ewsUrlOf(ctx: PhoneContext, body: Buffer): string | undefined {
  try {
    const protocols = children(path(parseXml(body.toString()), 'Response', 'Account'), 'Protocol')
    const exch =
      protocols.find((p) => path(p, 'Type')?.text === 'EXCH') ??
      protocols.find((p) => path(p, 'Type')?.text === 'EXPR')
    for (const el of ctx.guesses.ewsUrl) {
      const url = path(exch, el)?.text
      if (url) return url
    }
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
  }
  return undefined
}

/** One Autodiscover way (§3.1): the A record only (with the suffix rule, §2.2), TLS as the phone checks it, POX with NTLM. */
async function tryWay(
  ctx: PhoneContext,
  network: PhoneNetwork,
  way: Way,
  email: string,
): Promise<string | undefined> {
  const smtp = email.split('@')[1] ?? ''
  const host = way === 'https-smtp' ? smtp : `autodiscover.${smtp}`
  const address = (await network.dns.withSuffixes(host, 'A'))?.records.find((r) => r.type === 'A')
  if (address?.type !== 'A') {
    ctx.step('autodiscover', false, `${host}: no A record`)
    return undefined
  }
  let httpsTo = ctx.net.target(address.address, 443, 'tcp')
  let httpsHost = host
  if (way === 'http-redirect') {
    const r = await redirected(ctx, network, address.address, host)
    if (!r) return undefined
    httpsTo = r.to
    httpsHost = r.name
  }
  if (!httpsTo) return undefined
  const tls = await ctx.tls(httpsTo.host, httpsTo.port, httpsHost)
  if (!('socket' in tls)) {
    ctx.step('autodiscover', false, `https://${httpsHost}: ${tls.reason}`)
    return undefined
  }
  const conn = new PhoneHttp(tls.socket)
  const a = await ctx.authenticated(
    conn,
    'POST',
    '/autodiscover/autodiscover.xml',
    httpsHost,
    outlookRequest(email),
    {
      'Content-Type': 'text/xml',
    },
  )
  conn.close()
  const ewsUrl = a?.status === 200 ? ewsUrlOf(ctx, a.body) : undefined
  ctx.step(
    'autodiscover',
    ewsUrl !== undefined,
    `https://${httpsHost} → ${a?.status ?? 'no answer'}${ewsUrl ? `, EWS ${ewsUrl}` : ', no EWS URL'}`,
  )
  return ewsUrl
}

/** §3: Autodiscover by the ways the guesses list, in order, until one gives an EWS URL. */
export async function autodiscover(
  ctx: PhoneContext,
  network: PhoneNetwork,
  email: string,
): Promise<string | undefined> {
  for (const way of ctx.guesses.autodiscover) {
    const url = await tryWay(ctx, network, way, email)
    if (url !== undefined) return url
  }
  return undefined
}

const FOLDERS = [
  ['contacts', ''],
  ['voicemail', ''],
  ['inbox', MISSED_CALLS],
] as const

/**
 * §4.2 steps 2–3 (GUESS): the newest voice mail's details (GetItem, the caller) and its audio (GetAttachment),
 * as the Voice Mail tab shows and plays it.
 */
async function listen(ctx: PhoneContext, conn: PhoneHttp, u: URL, id: string): Promise<void> {
  const soap = { 'Content-Type': 'text/xml; charset=utf-8' }
  const item = await ctx.authenticated(conn, 'POST', u.pathname, u.hostname, getItemRequest(id), soap)
  const audio = item?.status === 200 ? firstAttachmentId(item.body.toString()) : undefined
  if (audio) await ctx.authenticated(conn, 'POST', u.pathname, u.hostname, getAttachmentRequest(audio), soap)
}

/** §4: FindItem on contacts, voice mail and missed calls over one NTLM-authenticated connection. */
export async function ews(ctx: PhoneContext, network: PhoneNetwork, ewsUrl: string): Promise<boolean> {
  const u = new URL(ewsUrl)
  const conn = await connect(ctx, network, u)
  if (typeof conn === 'string') return ctx.step('ews', false, `${u.hostname}: ${conn}`)
  const counts: Record<string, number> = {}
  for (const [folder, restriction] of FOLDERS) {
    const find = findItemRequest(
      folder,
      'IdOnly',
      '<m:IndexedPageItemView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning"/>',
      restriction,
    )
    const a = await ctx.authenticated(conn, 'POST', u.pathname, u.hostname, find, {
      'Content-Type': 'text/xml; charset=utf-8',
    })
    try {
      const items = a?.status === 200 ? foundItems(a.body.toString()) : undefined
      if (items) counts[folder === 'inbox' ? 'missedCalls' : folder] = items.length
      const newest = path(items?.[0], 'ItemId')?.attrs.Id
      if (folder === 'voicemail' && newest) await listen(ctx, conn, u, newest)
    } catch (err) {
      if (!(err instanceof LabDecodeError)) throw err
    }
  }
  conn.close()
  const ok = Object.keys(counts).length === FOLDERS.length
  ctx.learnt.mailbox = counts
  return ctx.step(
    'ews',
    ok,
    Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'FindItem failed',
  )
}

/**
 * The voice-mail poll of a signed-in phone (message waiting, at the provisioned ucExchangeMwiPoll): FindItem
 * on the voice mail folder, on an HTTPS connection kept between polls (NTLM is per connection, so a kept one
 * needs no new handshake). The connection to keep, or undefined when the poll failed.
 */
export async function pollVoicemail(
  ctx: PhoneContext,
  network: PhoneNetwork,
  ewsUrl: string,
  kept: PhoneHttp | undefined,
): Promise<PhoneHttp | undefined> {
  const u = new URL(ewsUrl)
  let conn = kept && !kept.closed ? kept : undefined
  if (!conn) {
    const opened = await connect(ctx, network, u)
    if (typeof opened === 'string') {
      ctx.step('ews-poll', false, `${u.hostname}: ${opened}`)
      return undefined
    }
    conn = opened
  }
  const find = findItemRequest(
    'voicemail',
    'IdOnly',
    '<m:IndexedPageItemView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning"/>',
    '',
  )
  const a = await ctx.authenticated(conn, 'POST', u.pathname, u.hostname, find, {
    'Content-Type': 'text/xml; charset=utf-8',
  })
  let items: number | undefined
  try {
    items = a?.status === 200 ? foundItems(a.body.toString())?.length : undefined
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
  }
  ctx.step(
    'ews-poll',
    items !== undefined,
    items !== undefined ? `voicemail ${items}` : `FindItem answered ${a?.status ?? 'nothing'}`,
  )
  if (items === undefined) conn.close()
  return items === undefined ? undefined : conn
}

/** §3–4 for a user enabled for Enterprise Voice and UM: Autodiscover, then EWS. True when it works or is not needed. */
export async function exchangeStage(
  ctx: PhoneContext,
  network: PhoneNetwork,
  props: Provisioned,
): Promise<boolean> {
  if (!usesExchange(props)) return true
  const email = props.primaryEmailAddress
  if (!email) return ctx.step('autodiscover', false, 'no primary e-mail address was provisioned')
  const ewsUrl = await autodiscover(ctx, network, email)
  if (ewsUrl === undefined) return false
  ctx.learnt.ewsUrl = ewsUrl
  return ews(ctx, network, ewsUrl)
}
