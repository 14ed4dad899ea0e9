/** The store's blocks of memory for the lines it keeps. */
export const CHUNK_BYTES = 256 * 1024
/** How many emptied blocks are kept for reuse at most; past that they go to the garbage collector. */
const SPARE_MAX = 8

/**
 * The journal's lines in memory, oldest first, as UTF-8 in blocks of memory outside the V8 heap that are
 * reused once every line in them is dropped, rather than freed and allocated anew: under a busy server
 * (60,000 lines a second) new blocks were needed at ~28 MB/s, and each dead one waited for a full garbage
 * collection to be freed, so the resident set climbed 50 MB above what the journal held between two of them.
 * A line is three numbers in arrays (block, start, end), not an object of its own.
 *
 * Lines marked unwritten (for the journal's group commit) keep their block from reuse, even when dropped from
 * memory, until `takeUnwritten` has handed them out.
 */
export class LineStore {
  readonly #chunkBytes: number
  #chunk: Buffer
  #used = 0
  /** Blocks that hold kept lines, oldest first, and the absolute index of the last line in each. */
  readonly #inUse: Buffer[] = []
  readonly #inUseLast: number[] = []
  /** Blocks whose lines are all dropped, waiting until no unwritten line can be in them. */
  #retired: Buffer[] = []
  readonly #spare: Buffer[] = []
  // The kept lines, from #head on: block, start and end of each.
  #lineChunk: Buffer[] = []
  #lineStart: number[] = []
  #lineEnd: number[] = []
  #head = 0
  /** The absolute index of the first kept line (lines dropped so far). */
  #dropped = 0
  #bytes = 0
  // Lines not yet written out, in order.
  #unwrittenChunk: Buffer[] = []
  #unwrittenStart: number[] = []
  #unwrittenEnd: number[] = []

  constructor(chunkBytes = CHUNK_BYTES) {
    this.#chunkBytes = chunkBytes
    this.#chunk = Buffer.allocUnsafeSlow(chunkBytes)
    this.#inUse.push(this.#chunk)
    this.#inUseLast.push(-1)
  }

  /** Lines kept. */
  get length(): number {
    return this.#lineChunk.length - this.#head
  }

  /** Octets of the lines kept. */
  get bytes(): number {
    return this.#bytes
  }

  /** Appends a line; `unwritten` keeps it for `takeUnwritten`. Returns its length in octets. */
  push(text: string, unwritten: boolean): number {
    // UTF-8 takes at most three octets per UTF-16 unit: room for that, and the line encoded in one pass.
    const most = text.length * 3
    let chunk: Buffer
    let start: number
    let end: number
    if (most > this.#chunkBytes / 4) {
      // A long line gets memory of its own (never reused: the garbage collector frees it).
      chunk = Buffer.allocUnsafeSlow(Buffer.byteLength(text))
      start = 0
      end = chunk.write(text)
    } else {
      if (this.#used + most > this.#chunkBytes) this.#nextChunk()
      chunk = this.#chunk
      start = this.#used
      end = start + chunk.write(text, start)
      this.#used = end
      this.#inUseLast[this.#inUseLast.length - 1] = this.#dropped + this.length
    }
    this.#lineChunk.push(chunk)
    this.#lineStart.push(start)
    this.#lineEnd.push(end)
    this.#bytes += end - start
    if (unwritten) {
      this.#unwrittenChunk.push(chunk)
      this.#unwrittenStart.push(start)
      this.#unwrittenEnd.push(end)
    }
    return end - start
  }

  #nextChunk(): void {
    if (this.#unwrittenChunk.length === 0) this.#release()
    this.#chunk = this.#spare.pop() ?? Buffer.allocUnsafeSlow(this.#chunkBytes)
    this.#used = 0
    this.#inUse.push(this.#chunk)
    this.#inUseLast.push(-1)
  }

  /** Retired blocks become spares: only when no unwritten line is left, for one could be in any of them. */
  #release(): void {
    for (const c of this.#retired) if (this.#spare.length < SPARE_MAX) this.#spare.push(c)
    this.#retired = []
  }

  /** The octets of kept line `i` (0: the oldest), as a view valid until the next push. */
  line(i: number): Buffer {
    const at = this.#head + i
    return this.#lineChunk[at]!.subarray(this.#lineStart[at], this.#lineEnd[at])
  }

  /** The length in octets of kept line `i`. */
  lineBytes(i: number): number {
    const at = this.#head + i
    return this.#lineEnd[at]! - this.#lineStart[at]!
  }

  /** Drops the `n` oldest lines; blocks left with none go to reuse. */
  drop(n: number): void {
    const count = Math.min(n, this.length)
    for (let at = this.#head; at < this.#head + count; at++)
      this.#bytes -= this.#lineEnd[at]! - this.#lineStart[at]!
    this.#head += count
    this.#dropped += count
    // Compacted once half the arrays are dropped lines: each line is moved at most once on average.
    if (this.#head > 1024 && this.#head * 2 > this.#lineChunk.length) {
      this.#lineChunk = this.#lineChunk.slice(this.#head)
      this.#lineStart = this.#lineStart.slice(this.#head)
      this.#lineEnd = this.#lineEnd.slice(this.#head)
      this.#head = 0
    }
    while (this.#inUse.length > 1 && this.#inUseLast[0]! < this.#dropped) {
      this.#retired.push(this.#inUse.shift()!)
      this.#inUseLast.shift()
    }
  }

  /** Drops every line. */
  clear(): void {
    this.drop(this.length)
  }

  /**
   * Hands the unwritten lines to `write` as runs (lines stored one after another go as one piece, so a batch
   * is one or two writes), in order, with how many lines each run holds, then forgets them.
   */
  takeUnwritten(write: (chunk: Buffer, start: number, end: number, lines: number) => void): void {
    const chunks = this.#unwrittenChunk
    const starts = this.#unwrittenStart
    const ends = this.#unwrittenEnd
    if (chunks.length === 0) return
    this.#unwrittenChunk = []
    this.#unwrittenStart = []
    this.#unwrittenEnd = []
    let chunk = chunks[0]!
    let start = starts[0]!
    let end = ends[0]!
    let lines = 1
    for (let i = 1; i < chunks.length; i++) {
      if (chunks[i] === chunk && starts[i] === end) {
        end = ends[i]!
        lines++
        continue
      }
      write(chunk, start, end, lines)
      chunk = chunks[i]!
      start = starts[i]!
      end = ends[i]!
      lines = 1
    }
    write(chunk, start, end, lines)
    this.#release()
  }

  /** Blocks held (in use, awaiting reuse, spare): what the store costs outside the heap, in blocks. */
  get blocks(): number {
    return this.#inUse.length + this.#retired.length + this.#spare.length
  }
}
