/**
 * The benchmark workload: a trace of operations over Zipf-distributed keys.
 *
 * The PRNG is sfc32 (32-bit integer arithmetic via Math.imul and shifts), and each uniform draw
 * combines two outputs into 53 bits. A generator built on float multiplication (e.g. the classic
 * `seed = (seed * 16807) % 2147483647` done in doubles, or `Math.sin` hashes) repeats after a few
 * thousand draws at the tail of a Zipf CDF, and the "1M keys" trace then touches only a few
 * thousand of them; we print the distinct-key count so that a broken trace is visible.
 */
export function sfc32(a, b, c, d) {
  return function next() {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
}

/** Uniform double in [0, 1) with 53 random bits. */
export function uniform(next) {
  return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

/** Inverse-CDF Zipf sampler over ranks 0..n-1 with exponent s. */
export function zipfSampler(n, s, next) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / Math.pow(i + 1, s);
    cdf[i] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  return function sample() {
    const u = uniform(next);
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * `ops` operations over `keySpace` Zipf(s) keys; `getShare` of them gets, the rest sets. Keys are
 * scattered over the key space (rank → key by a fixed permutation) so that hot keys are not
 * neighbours, and the key strings are created up front so the timed loop measures only the cache.
 */
export function makeTrace({ ops, keySpace, s, getShare, seed = 42 }) {
  const next = sfc32(0x9e3779b9, 0x243f6a88, 0xb7e15162, seed);
  for (let i = 0; i < 20; i++) next();
  const sample = zipfSampler(keySpace, s, next);
  const names = new Map();
  const keys = new Array(ops);
  const isGet = new Uint8Array(ops);
  for (let i = 0; i < ops; i++) {
    const rank = sample();
    // rank × odd mod 2^20 is a bijection on [0, 2^20) ⊇ [0, keySpace): distinct ranks stay distinct.
    const id = Math.imul(rank, 0x2c1b3c6d) & 0xfffff;
    let name = names.get(id);
    if (name === undefined) {
      name = `key:${id}`;
      names.set(id, name);
    }
    keys[i] = name;
    isGet[i] = uniform(next) < getShare ? 1 : 0;
  }
  return { keys, isGet, distinctKeys: names.size };
}
