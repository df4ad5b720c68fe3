/**
 * The input a connection holds between reads: a partial line, or lines held back while reading
 * is paused. One buffer that grows by half each time, so a long `get` line arriving in many small
 * reads costs copies in proportion to its length: joining each read to a fresh copy of everything
 * held before it was quadratic (~2 s of CPU for a 1 MB line sent 100 bytes every 0.2 ms,
 * bench/memcached-long-line.js). It also remembers how much of what it holds is known to hold no
 * newline, so the search for the line's end resumes where the last one stopped instead of
 * scanning the line again on every read.
 */
/**
 * A store at most this large is reused for whatever is held next, however little: about what a
 * line the input budget does not count (2 KiB, connection.ts) grows it to, so a connection
 * holding a short line never keeps more uncounted memory than that.
 */
const SMALL_STORE_BYTES = 4 * 1024;
const MIN_STORE_BYTES = 256;

export class InputCarry {
  #store: Buffer | undefined;
  #length = 0;
  /** Bytes from the start of what is held known to hold no LF. */
  #searched = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Bytes the carry keeps in memory (its buffer, held bytes and room to grow). */
  get footprint(): number {
    return this.#store?.length ?? 0;
  }

  /** Where the search for a newline in what {@link take} or {@link append} returns may start. */
  get searched(): number {
    return this.#searched;
  }

  /**
   * Holds a copy of `rest`, which may be a view of this carry's own buffer (the unprocessed end of
   * what take or append returned). `newlineFree`: `rest` was searched and holds no LF.
   */
  keep(rest: Buffer, newlineFree: boolean): void {
    const store = this.#store;
    // A buffer more than twice what is held now (a long line was processed, a few bytes of the
    // next are left) is let go: it would keep memory the input budget no longer counts.
    if (
      store !== undefined &&
      (store.length <= SMALL_STORE_BYTES || 2 * rest.length >= store.length)
    ) {
      const offset = offsetIn(store, rest);
      if (offset > 0) store.copyWithin(0, offset, offset + rest.length);
      else if (offset < 0 && store.length >= rest.length) rest.copy(store, 0);
      else if (offset < 0) this.#store = copyOf(rest);
    } else {
      this.#store = copyOf(rest);
    }
    this.#length = rest.length;
    this.#searched = newlineFree ? rest.length : 0;
  }

  /**
   * What is held followed by `chunk`, as one view of the carry's buffer, valid until the next
   * call; the carry holds nothing afterwards (keep the unprocessed rest again).
   */
  append(chunk: Buffer): Buffer {
    const held = this.#length;
    const needed = held + chunk.length;
    let store = this.#store;
    if (store === undefined || store.length < needed) {
      // By half, not doubling: the input budget counts the whole buffer of a long line.
      const grown = Buffer.allocUnsafeSlow(
        Math.max(needed, Math.ceil(1.5 * (store?.length ?? 0)), MIN_STORE_BYTES),
      );
      if (store !== undefined && held > 0) store.copy(grown, 0, 0, held);
      this.#store = store = grown;
    }
    chunk.copy(store, held);
    this.#length = 0;
    return store.subarray(0, needed);
  }

  /** What is held, as a view of the carry's buffer (valid until the next call); empties it. */
  take(): Buffer {
    const held = this.#length;
    this.#length = 0;
    return this.#store === undefined ? Buffer.alloc(0) : this.#store.subarray(0, held);
  }

  /** Forgets what is held and lets its buffer go. */
  clear(): void {
    this.#store = undefined;
    this.#length = 0;
    this.#searched = 0;
  }
}

/** A buffer of its own (not a slice of Node's shared pool, which it would keep alive) holding `bytes`. */
function copyOf(bytes: Buffer): Buffer {
  const store = Buffer.allocUnsafeSlow(Math.max(bytes.length, MIN_STORE_BYTES));
  bytes.copy(store, 0);
  return store;
}

/** Where `view` starts inside `store`, or -1 when it is not a view of it. */
function offsetIn(store: Buffer, view: Buffer): number {
  if (view.buffer !== store.buffer) return -1;
  const offset = view.byteOffset - store.byteOffset;
  return offset >= 0 && offset + view.length <= store.length ? offset : -1;
}
