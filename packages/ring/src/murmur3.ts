/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's `MurmurHash3_x86_32`, the "Murmur3A" of
 * SMHasher), over the UTF-8 bytes of a string.
 *
 * This is the ring's fixed hash: every dcache client and server, in any runtime, must compute
 * the same value for the same key, so the algorithm, the seed (0 by default) and the byte
 * encoding (UTF-8; a lone surrogate is encoded as U+FFFD, exactly like `TextEncoder` and
 * `Buffer.from`) are part of the contract and never change.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixBlock(h: number, block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, C2);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixTail(h: number, tail: number): number {
  let k = Math.imul(tail, C1);
  k = (k << 15) | (k >>> 17);
  return h ^ Math.imul(k, C2);
}

function finalize(h: number, byteLength: number): number {
  h ^= byteLength;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashBytes(bytes: Uint8Array, length: number, seed: number): number {
  let h = seed | 0;
  const blocksEnd = length & ~3;
  let i = 0;
  for (; i < blocksEnd; i += 4) {
    h = mixBlock(
      h,
      bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24),
    );
  }
  let tail = 0;
  for (let shift = 0; i < length; i++, shift += 8) tail |= bytes[i]! << shift;
  if ((length & 3) !== 0) h = mixTail(h, tail);
  return finalize(h, length);
}

function checkSeed(seed: number): void {
  if (typeof seed !== 'number' || seed >>> 0 !== seed) {
    throw new RangeError(
      `murmur3: seed must be an integer from 0 to 2^32 - 1, got ${String(seed)}`,
    );
  }
}

// One buffer reused by every non-ASCII key, grown by doubling, so a lookup allocates nothing
// beyond what `encodeInto` itself returns.
const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

function hashNonAscii(key: string, seed: number): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  const worstCase = key.length * 3;
  if (scratch.length < worstCase) {
    let size = scratch.length;
    while (size < worstCase) size *= 2;
    scratch = new Uint8Array(size);
  }
  const { written } = encoder.encodeInto(key, scratch);
  return hashBytes(scratch, written, seed);
}

/**
 * MurmurHash3 x86_32 of the UTF-8 encoding of `key`, as an unsigned 32-bit integer.
 *
 * ASCII strings are hashed straight from their char codes (which equal their UTF-8 bytes), so
 * hashing them allocates nothing; other strings are encoded into a reused buffer first.
 *
 * @param seed - unsigned 32-bit seed. @default 0
 */
export function murmur3(key: string, seed = 0): number {
  if (typeof key !== 'string')
    throw new TypeError(`murmur3: key must be a string, got ${typeof key}`);
  checkSeed(seed);
  const length = key.length;
  let h = seed | 0;
  const blocksEnd = length & ~3;
  let i = 0;
  for (; i < blocksEnd; i += 4) {
    const b0 = key.charCodeAt(i);
    const b1 = key.charCodeAt(i + 1);
    const b2 = key.charCodeAt(i + 2);
    const b3 = key.charCodeAt(i + 3);
    if ((b0 | b1 | b2 | b3) > 0x7f) return hashNonAscii(key, seed);
    h = mixBlock(h, b0 | (b1 << 8) | (b2 << 16) | (b3 << 24));
  }
  let tail = 0;
  for (let shift = 0; i < length; i++, shift += 8) {
    const b = key.charCodeAt(i);
    if (b > 0x7f) return hashNonAscii(key, seed);
    tail |= b << shift;
  }
  if ((length & 3) !== 0) h = mixTail(h, tail);
  return finalize(h, length);
}

/**
 * MurmurHash3 x86_32 of raw bytes, as an unsigned 32-bit integer. `murmur3(s)` equals
 * `murmur3Bytes(new TextEncoder().encode(s))` for every string `s`.
 *
 * @param seed - unsigned 32-bit seed. @default 0
 */
export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`murmur3Bytes: bytes must be a Uint8Array, got ${typeof bytes}`);
  }
  checkSeed(seed);
  return hashBytes(bytes, bytes.length, seed);
}
