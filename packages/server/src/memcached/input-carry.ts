/**
 * The input a connection holds between reads: a partial line, or lines held back while reading
 * is paused. Reads that bring no line end are appended to a list of blocks, and only the read
 * that ends the line joins them, once: a long `get` line arriving in many small reads costs
 * copies in proportion to its length. Joining each read to a fresh copy of everything held
 * before it, and searching all of it again for a newline, was quadratic (~2 s of CPU for a 1 MB
 * line sent 100 bytes every 0.2 ms, bench/memcached-long-line.js).
 *
 * Blocks start small and double up to BLOCK_BYTES, so what the carry keeps in memory is at most
 * about twice a short line and a block more than a long one: the input budget, which counts long
 * lines, counts it whole.
 */
const BLOCK_BYTES = 16 * 1024;
const FIRST_BLOCK_BYTES = 256;

export class InputCarry {
  /** The held bytes in order: every block full but the last. */
  #blocks: Buffer[] = [];
  /** Bytes used in the last block. */
  #lastUsed = 0;
  #length = 0;
  #footprint = 0;
  /** Bytes from the start of what is held known to hold no LF. */
  #searched = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Bytes the carry keeps in memory (its blocks, held bytes and room in the last one). */
  get footprint(): number {
    return this.#footprint;
  }

  /** Bytes from the start known to hold no newline: where a search of what is held may start. */
  get searched(): number {
    return this.#searched;
  }

  /** Holds a copy of `rest`, in place of what was held. `newlineFree`: it was searched, no LF. */
  keep(rest: Buffer, newlineFree: boolean): void {
    this.clear();
    this.append(rest);
    this.#searched = newlineFree ? rest.length : 0;
  }

  /**
   * Appends a copy of `chunk` (which is only valid during the read that brought it). `newlineFree`:
   * what is held was searched in full before and `chunk` holds no LF either.
   */
  append(chunk: Buffer, newlineFree = false): void {
    let from = 0;
    while (from < chunk.length) {
      let last = this.#blocks[this.#blocks.length - 1];
      if (last === undefined || this.#lastUsed === last.length) {
        // Doubling what is held, up to a block: a short line costs little, a long one a block more.
        const size = Math.min(BLOCK_BYTES, Math.max(FIRST_BLOCK_BYTES, this.#length));
        last = Buffer.allocUnsafeSlow(Math.max(size, Math.min(chunk.length - from, BLOCK_BYTES)));
        this.#blocks.push(last);
        this.#footprint += last.length;
        this.#lastUsed = 0;
      }
      const copied = chunk.copy(last, this.#lastUsed, from);
      this.#lastUsed += copied;
      from += copied;
    }
    this.#length += chunk.length;
    if (newlineFree && this.#searched === this.#length - chunk.length)
      this.#searched = this.#length;
  }

  /** The first `n` bytes held (fewer when fewer are held), as a copy. */
  head(n: number): Buffer {
    const out = Buffer.allocUnsafe(Math.min(n, this.#length));
    let at = 0;
    for (const block of this.#blocks) {
      if (at === out.length) break;
      at += block.copy(out, at, 0, Math.min(block.length, out.length - at));
    }
    return out;
  }

  /** Everything held, as one buffer the carry no longer uses; the carry is empty afterwards. */
  takeAll(): Buffer {
    const blocks = this.#blocks;
    const length = this.#length;
    let all: Buffer;
    if (blocks.length === 1) {
      all = blocks[0]!.subarray(0, length);
    } else {
      all = Buffer.allocUnsafeSlow(length);
      let at = 0;
      for (const block of blocks) at += block.copy(all, at, 0, Math.min(block.length, length - at));
    }
    this.clear();
    return all;
  }

  /** Forgets what is held and lets its blocks go. */
  clear(): void {
    this.#blocks = [];
    this.#lastUsed = 0;
    this.#length = 0;
    this.#footprint = 0;
    this.#searched = 0;
  }
}
