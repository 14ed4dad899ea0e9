export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/**
 * The one machine-readable line every benchmark ends with (house-style §7b):
 * `RESULT <name> lab=<v> peer=<v> ratio=<v> unit=<u> [key=value…]`, ratio > 1 meaning the lab is better.
 */
export function result(
  name: string,
  fields: { lab: number; peer: number | undefined; ratio: number | undefined; unit: string } & Record<
    string,
    string | number | undefined
  >,
): void {
  const fmt = (v: string | number | undefined): string =>
    v === undefined ? '-' : typeof v === 'number' ? String(Number(v.toFixed(3))) : v
  const { lab, peer, ratio, unit, ...rest } = fields
  const extra = Object.entries(rest).map(([k, v]) => `${k}=${fmt(v)}`)
  console.log(
    [
      'RESULT',
      name,
      `lab=${fmt(lab)}`,
      `peer=${fmt(peer)}`,
      `ratio=${fmt(ratio)}`,
      `unit=${unit}`,
      ...extra,
    ].join(' '),
  )
}
