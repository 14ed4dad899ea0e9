/** What a kept empty piece (a FIN, a RST) holds: nothing, shared. */
const EMPTY = new Uint8Array(0)

/**
 * Copies of small byte strings packed into shared slabs. A capture keeps hundreds of thousands of pieces of a
 * few dozen octets (keep-alives, TLS records, NTP packets); each in its own ArrayBuffer costs some 250 octets
 * of bookkeeping besides its content and churns the allocator, where a view into a slab costs a third of that.
 * Pieces are dropped in the order they came, so a slab is freed once its last piece goes.
 */
export class ByteArena {
  readonly #slabBytes: number
  #slab: Uint8Array = EMPTY
  #used = 0

  constructor(slabBytes = 16 * 1024) {
    this.#slabBytes = slabBytes
  }

  /** A copy of `bytes` that does not share the caller's buffer (which Node may reuse). */
  copy(bytes: Uint8Array): Uint8Array {
    if (bytes.length === 0) return EMPTY
    if (bytes.length > this.#slabBytes / 4) return new Uint8Array(bytes)
    if (this.#used + bytes.length > this.#slab.length) {
      this.#slab = new Uint8Array(this.#slabBytes)
      this.#used = 0
    }
    const view = this.#slab.subarray(this.#used, this.#used + bytes.length)
    view.set(bytes)
    this.#used += bytes.length
    return view
  }
}
