/**
 * Adversarial keys for the key index: keys whose hashes (keyHash, for a known seed) are equal in
 * all 32 bits — the same tag and the same home cell at every table size — built the way an
 * attacker who knew the seed would. The per-unit step `h → (h ^ unit) × P` is a bijection, so the
 * last unit can be solved for: after a random prefix with state S, the unit `S ^ (T × P⁻¹)` leads
 * to the target state T whenever it fits in 16 bits (one prefix in 2^16).
 */
import { keyHash } from './key-index.js';

const P = 0x0100_0193;
/** P⁻¹ mod 2^32 by Newton's iteration (each step doubles the correct low bits). */
const P_INVERSE = (() => {
  let inverse = P;
  for (let i = 0; i < 5; i++) inverse = Math.imul(inverse, 2 - Math.imul(P, inverse));
  return inverse;
})();

/** murmur3's finaliser, as keyHash ends. */
function finalised(state: number): number {
  let h = state ^ (state >>> 16);
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  return h ^ (h >>> 16);
}

/** A small deterministic generator: the tests stay reproducible. */
function random(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/**
 * `count` distinct keys of `length` units whose keyHash under `seed` is the same: that of
 * the state `target`. The last unit is whatever solves it (any UTF-16 unit, a lone surrogate
 * included). Checked against keyHash itself, so a change to the hash fails loudly here.
 */
export function collidingKeys(
  seed: number,
  count: number,
  length = 6,
  target = 0x1234_5678,
): string[] {
  // One prefix of 26^(length − 1) in 2^16 solves: length 6 gives ~180 keys, 5 only ~7.
  if (length < 6 || count > 100) throw new RangeError('collidingKeys: length ≥ 6, count ≤ 100');
  const next = random(target ^ seed);
  const want = Math.imul(target, P_INVERSE);
  const units = new Array<number>(length - 1);
  const keys = new Set<string>();
  while (keys.size < count) {
    let h = seed ^ length;
    for (let i = 0; i < length - 1; i++) {
      units[i] = 0x61 + (next() % 26);
      h = Math.imul(h ^ units[i]!, P);
    }
    const unit = h ^ want;
    if (unit >>> 16 !== 0) continue;
    keys.add(String.fromCharCode(...units, unit));
  }
  const result = [...keys];
  for (const key of result) {
    if (keyHash(key, seed) !== finalised(target)) {
      throw new Error(`collidingKeys: ${JSON.stringify(key)} does not hash as built`);
    }
  }
  return result;
}

/** A target state whose hash has its low `bits` bits all set: home is a table's last cell. */
export function targetHomedLast(seed: number, bits: number): number {
  const mask = (1 << bits) - 1;
  const next = random(seed ^ (bits << 8));
  for (;;) {
    const target = next() | 0;
    if ((finalised(target) & mask) === mask) return target;
  }
}
