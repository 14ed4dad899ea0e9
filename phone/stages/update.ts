import { LabDecodeError } from '../../core/errors.js'
import { parseXml, path } from '../../core/xml.js'
import { isNewer, type PhoneContext, type PhoneNetwork } from '../context.js'
import { connect } from './connect.js'

/** The update request the phone POSTs to ucdevice.upx (spec §6.2; element names are the spec's GUESS §10.7). */
function updateRequest(ctx: PhoneContext): string {
  const { mac } = ctx.options
  const { firmware, user } = ctx.state
  return (
    `<?xml version="1.0" encoding="utf-8"?><Request><DeviceType>UCPhone</DeviceType><MacAddress>${mac}</MacAddress>` +
    `<SerialNumber>${mac.replace(/:/g, '').toUpperCase()}</SerialNumber><Vendor>Polycom</Vendor><Model>CX700</Model>` +
    `<Revision>A</Revision><Locale>ENU</Locale><Modules><Module><Filename>CPE.nbt</Filename><Version>${firmware}</Version>` +
    `<Timestamp>2009-01-01T00:00:00Z</Timestamp></Module></Modules>${user ? `<UserId>${user}</UserId>` : ''}</Request>`
  )
}

/**
 * Downloads the offered image from BaseURL and its signature catalog (§6.3: the `.nbt` and the `.cat` IIS must
 * serve); both whole, the image waits to be installed when the phone is idle.
 */
async function download(
  ctx: PhoneContext,
  network: PhoneNetwork,
  offer: { readonly base: string; readonly version: string; readonly signature: string },
  label: string,
): Promise<void> {
  const { base, version, signature } = offer
  const file = new URL(`${base}/CPE.nbt`)
  const conn = await connect(ctx, network, file)
  if (typeof conn === 'string') {
    ctx.step(label, false, `${file.hostname}: ${conn}`)
    return
  }
  const image = await conn.request('GET', file.pathname, file.host, {}, '', ctx.timeoutMs)
  const catalog =
    image?.status === 200
      ? await conn.request('GET', new URL(`${base}/${signature}`).pathname, file.host, {}, '', ctx.timeoutMs)
      : undefined
  conn.close()
  if (image?.status !== 200 || image.body.length === 0) {
    ctx.step(label, false, `GET CPE.nbt answered ${image?.status ?? 'nothing'}`)
    return
  }
  if (catalog?.status !== 200 || catalog.body.length === 0) {
    ctx.step(
      label,
      false,
      `GET ${signature} answered ${catalog?.status ?? 'nothing'}: the image cannot be checked`,
    )
    return
  }
  ctx.step(
    label,
    true,
    `downloaded ${version} (${image.body.length} octets) to replace ${ctx.state.firmware}`,
  )
  ctx.state.pendingFirmware = version
}

/** §6.2: asks the Device Update Service at `url` for a newer image, and installs it. Never ends the boot. */
export async function updateCheck(
  ctx: PhoneContext,
  network: PhoneNetwork,
  url: string,
  label: string,
): Promise<void> {
  const u = new URL(url)
  const conn = await connect(ctx, network, u)
  if (typeof conn === 'string') {
    ctx.step(label, false, conn)
    return
  }
  try {
    const a = await conn.request(
      'POST',
      u.pathname,
      u.host,
      { 'Content-Type': 'text/xml' },
      updateRequest(ctx),
      ctx.timeoutMs,
    )
    if (a?.status !== 200) {
      ctx.step(label, false, `ucdevice.upx answered ${a?.status ?? 'nothing'}`)
      return
    }
    const doc = parseXml(a.body.toString())
    const version = path(doc, 'Modules', 'Module', 'Version')?.text ?? ''
    const base = path(doc, 'BaseURL')?.text ?? ''
    if (!isNewer(version, ctx.state.pendingFirmware ?? ctx.state.firmware)) {
      ctx.step(label, true, `current (${ctx.state.firmware}; offered ${version || 'nothing'})`)
      return
    }
    if (base === '') {
      ctx.step(label, false, `${version} offered with a blank BaseURL`)
      return
    }
    const signature = path(doc, 'Modules', 'Module', 'SignatureFilename')?.text || 'CPE.cat'
    await download(ctx, network, { base, version, signature }, label)
  } catch (err) {
    if (!(err instanceof LabDecodeError)) throw err
    ctx.step(label, false, `ucdevice.upx answer is not XML: ${err.message}`)
  } finally {
    conn.close()
  }
}

/**
 * The update check at power-on (§5, §6.4's state machine): a phone that signed in before asks the DUS URL it
 * stored; a never-signed-in (or hard-reset) 1.0.522.101 / 3.5.6907.35 looks for it by ucupdates-r2.<option
 * 15> (§6.1); other builds cannot find one before a sign-in (F18).
 */
export async function firstUpdateStage(ctx: PhoneContext, network: PhoneNetwork): Promise<void> {
  if (ctx.state.everSignedIn) {
    if (ctx.state.dusUrl) await updateCheck(ctx, network, ctx.state.dusUrl, 'update (power-on)')
    return
  }
  if (!ctx.firmware.findsUpdatesBeforeSignIn) return
  const name = `ucupdates-r2.${network.lease.domain}`
  const dus = await network.dns.address(name)
  if (dus)
    await updateCheck(ctx, network, `http://${dus}/RequestHandler/ucdevice.upx`, 'update (ucupdates-r2)')
  else ctx.step('update (ucupdates-r2)', true, `${name} does not resolve: no update check`)
}
