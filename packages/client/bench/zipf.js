// Zipf-distributed key ranks, as cache traffic is (a few hot keys, a long tail): rank r (1-based)
// is drawn with probability proportional to 1 / r^s. The table is built once; a draw is one
// binary search over it. Plain JavaScript, so that the benchmarks run without a build step and the
// scale tests' load workers draw their keys from the same sampler.

/**
 * Draws ranks 0 … n−1 (0 the hottest) with Zipf exponent `s`, from `random` (uniform in [0, 1)).
 * @param {number} n
 * @param {number} s
 * @param {() => number} random
 * @returns {() => number}
 */
export function zipf(n, s, random) {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!(s >= 0)) throw new RangeError(`s must be a number >= 0, got ${s}`);
  const cdf = new Float64Array(n);
  let total = 0;
  for (let rank = 0; rank < n; rank++) {
    total += 1 / (rank + 1) ** s;
    cdf[rank] = total;
  }
  for (let rank = 0; rank < n; rank++) cdf[rank] /= total;
  return () => {
    const u = random();
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (cdf[mid] > u) high = mid;
      else low = mid + 1;
    }
    return low;
  };
}
