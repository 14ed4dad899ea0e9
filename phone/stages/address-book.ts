import { LabDecodeError } from '../../core/errors.js'
import { absDay, decodeDabs, fullFileName } from '../../servers/http/abs.js'
import type { PhoneContext, PhoneNetwork } from '../context.js'
import { connect } from './connect.js'

/** How many days back the phone looks for a full file before it gives up (GUESS). */
const DAYS_BACK = 3

/**
 * §4.3, §5: the daily address-book download — an HTTPS GET of the newest full device file from the
 * provisioned ABS URL, authenticated as the user; the entries replace the phone's GAL. The file of today is
 * asked first, then the days before (ABServer writes a new one once a day).
 */
export async function downloadAddressBook(
  ctx: PhoneContext,
  network: PhoneNetwork,
  absUrl: string,
): Promise<boolean> {
  const u = new URL(absUrl)
  const conn = await connect(ctx, network, u)
  if (typeof conn === 'string') return ctx.step('address-book', false, `${u.hostname}: ${conn}`)
  try {
    const today = absDay(ctx.now().getTime())
    for (let day = today; day > today - DAYS_BACK; day--) {
      const name = fullFileName(day)
      const a = await ctx.authenticated(conn, 'GET', `${u.pathname.replace(/\/$/, '')}/${name}`, u.hostname)
      if (a?.status === 404) continue
      if (a?.status !== 200) return ctx.step('address-book', false, `${name}: ${a?.status ?? 'no answer'}`)
      try {
        const book = decodeDabs(a.body)
        ctx.state.gal = book.entries.map((e) => e.sipAddress)
        ctx.learnt.gal = ctx.state.gal.length
        return ctx.step(
          'address-book',
          true,
          `${name}: ${book.entries.length} entries (generated ${book.generatedAt})`,
        )
      } catch (err) {
        if (!(err instanceof LabDecodeError)) throw err
        return ctx.step('address-book', false, `${name}: ${err.message}`)
      }
    }
    return ctx.step('address-book', false, `no full file in the last ${DAYS_BACK} days`)
  } finally {
    conn.close()
  }
}
