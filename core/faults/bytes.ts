import type { Random } from '../random.js'

/** Random bytes (the `garbage` fault). */
export function garbageBytes(length: number, random: Random): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256)
  return out
}

/** A copy of `bytes` with one random bit flipped in each of `count` random positions (the `corrupt` fault). */
export function corruptBytes(bytes: Uint8Array, count: number, random: Random): Uint8Array {
  const out = Uint8Array.from(bytes)
  if (out.length === 0) return out
  for (let i = 0; i < count; i++) {
    const at = Math.floor(random() * out.length)
    out[at] = out[at]! ^ (1 << Math.floor(random() * 8))
  }
  return out
}
